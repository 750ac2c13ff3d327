"""Echo servers for the echo benchmark (benches/benches/echo.rs): vmbench's
protocol and sockets styles on asyncio or uvloop. Prints the port it
listens on (127.0.0.1, chosen by the OS), then serves until killed.

    python echo_server.py --loop asyncio|uvloop --style protocol|sockets|streams
"""

import argparse
import asyncio
import socket


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def serve_sockets(loop, listener):
    async def handle(connection):
        with connection:
            while True:
                data = await loop.sock_recv(connection, 256 * 1024)
                if not data:
                    return
                await loop.sock_sendall(connection, data)

    while True:
        connection, _ = await loop.sock_accept(listener)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.setblocking(False)
        loop.create_task(handle(connection))


async def echo_stream(reader, writer):
    while True:
        data = await reader.read(256 * 1024)
        if not data:
            writer.close()
            return
        writer.write(data)
        await writer.drain()


async def main(style):
    loop = asyncio.get_running_loop()
    if style == "streams":
        server = await asyncio.start_server(echo_stream, "127.0.0.1", 0)
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Event().wait()
    elif style == "protocol":
        server = await loop.create_server(Echo, "127.0.0.1", 0)
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Event().wait()
    else:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(100)
        listener.setblocking(False)
        print(listener.getsockname()[1], flush=True)
        await serve_sockets(loop, listener)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--loop", default="asyncio")
    parser.add_argument("--style", default="protocol")
    args = parser.parse_args()
    if args.loop == "uvloop":
        import uvloop

        uvloop.install()
    asyncio.run(main(args.style))
