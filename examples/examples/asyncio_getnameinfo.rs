//! Looking addresses up: the port of `asyncio_getnameinfo.py`.
//!
//! `getnameinfo` runs the system resolver's reverse lookup on the loop's
//! default executor for each target address and port 443, and prints the
//! address, the host name and the service name. An address with no name
//! comes back as itself, as it does on a machine without outside DNS
//! (ours) for the book's two addresses. The targets are the book's unless
//! other IP addresses are given as arguments.
// end of header

use std::net::{IpAddr, SocketAddr};

use asyncio::{getnameinfo, EventLoop, LoopHandle, NetError};

const TARGETS: [&str; 2] = ["66.33.211.242", "104.130.43.121"];

async fn main_(event_loop: LoopHandle, targets: Vec<IpAddr>) -> Result<(), NetError> {
    for target in targets {
        let (host, service) = getnameinfo(&event_loop, SocketAddr::new(target, 443), 0).await?;
        println!("{:<15}: {host} {service}", target.to_string());
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut targets: Vec<String> = std::env::args().skip(1).collect();
    if targets.is_empty() {
        targets = TARGETS.iter().map(|target| target.to_string()).collect();
    }
    let targets = targets
        .iter()
        .map(|target| target.parse())
        .collect::<Result<Vec<IpAddr>, _>>()?;
    let event_loop = EventLoop::new();
    let handle = event_loop.handle();
    let outcome = event_loop.run_until_complete(main_(handle, targets));
    event_loop.close()?;
    Ok(outcome??)
}
