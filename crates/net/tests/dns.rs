//! `getaddrinfo` and `getnameinfo` against CPython's `socket` module, run
//! as a process on the same machine. Only `localhost` and numeric
//! addresses are looked up (these machines have no outside DNS, and tests
//! ask no other address).

mod common;

use asyncio_net::socket2::{Domain, Protocol, Type};
use asyncio_net::{getaddrinfo, getnameinfo, AddrInfoHints, NetErrorKind};
use common::{output_of, python, run};

/// IO80: `getaddrinfo('localhost', 'https', proto=IPPROTO_TCP)` gives what
/// CPython's gives on this machine, entry for entry.
#[test]
fn localhost_https_matches_cpython() {
    let script = r#"
import socket
for family, kind, proto, canon, address in socket.getaddrinfo('localhost', 'https', proto=socket.IPPROTO_TCP):
    print(int(family), int(kind), proto, repr(canon), address[0], address[1])
"#;
    let expected = output_of(&mut python(script, &[]));
    let found = run(10.0, |handle| {
        Box::pin(async move {
            let hints = AddrInfoHints::new().protocol(Protocol::TCP);
            getaddrinfo(&handle, Some("localhost"), Some("https"), &hints).await
        })
    });
    let ours: String = found
        .iter()
        .map(|entry| {
            format!(
                "{} {} {} {:?} {} {}\n",
                i32::from(entry.family),
                i32::from(entry.socktype),
                i32::from(entry.protocol),
                entry.canonname.clone().unwrap_or_default(),
                entry.address.ip(),
                entry.address.port(),
            )
            .replace('"', "'")
        })
        .collect();
    assert_eq!(ours, expected);
    assert!(found.iter().all(|entry| entry.socktype == Type::STREAM
        && entry.protocol == Protocol::TCP
        && entry.address.port() == 443
        && (entry.family == Domain::IPV4 || entry.family == Domain::IPV6)));
}

/// IO44: a failure carries the resolver's code and text, as
/// `socket.gaierror` does (a name refused as not numeric: no DNS query).
#[test]
fn a_failed_lookup_carries_the_resolvers_code_and_text() {
    let script = r#"
import socket
try:
    socket.getaddrinfo('no-such-host', None, flags=socket.AI_NUMERICHOST)
except socket.gaierror as error:
    print(error)
"#;
    let expected = output_of(&mut python(script, &[]));
    let error = run(10.0, |handle| {
        Box::pin(async move {
            let hints = AddrInfoHints::new().flags(libc::AI_NUMERICHOST);
            Ok(getaddrinfo(&handle, Some("no-such-host"), None, &hints)
                .await
                .unwrap_err())
        })
    });
    assert_eq!(error.kind(), NetErrorKind::Resolve);
    assert_eq!(error.resolver_code(), Some(libc::EAI_NONAME));
    assert_eq!(format!("{error}\n"), expected);
    let refused = run(10.0, |handle| {
        Box::pin(async move {
            Ok(getaddrinfo(&handle, None, None, &AddrInfoHints::new())
                .await
                .unwrap_err())
        })
    });
    assert!(refused.is_invalid_argument());
}

/// `getnameinfo` gives what CPython's gives: a name from `/etc/hosts` for
/// 127.0.0.1, `https` for 443, and numbers when asked for them.
#[test]
fn getnameinfo_matches_cpython() {
    let script = r#"
import socket
print(*socket.getnameinfo(('127.0.0.1', 443), 0))
print(*socket.getnameinfo(('127.0.0.1', 443), socket.NI_NUMERICHOST | socket.NI_NUMERICSERV))
print(*socket.getnameinfo(('::1', 80), socket.NI_NUMERICHOST))
"#;
    let expected = output_of(&mut python(script, &[]));
    let ours = run(10.0, |handle| {
        Box::pin(async move {
            let mut lines = String::new();
            for (address, flags) in [
                ("127.0.0.1:443", 0),
                ("127.0.0.1:443", libc::NI_NUMERICHOST | libc::NI_NUMERICSERV),
                ("[::1]:80", libc::NI_NUMERICHOST),
            ] {
                let (host, service) = getnameinfo(&handle, address.parse().unwrap(), flags).await?;
                lines.push_str(&format!("{host} {service}\n"));
            }
            Ok(lines)
        })
    });
    assert_eq!(ours, expected);
}

/// IO45: cancelling the task that awaits a lookup cancels the wait only;
/// the loop goes on and the next lookup answers.
#[test]
fn a_cancelled_lookup_cancels_the_wait_only() {
    let (cancelled, next) = run(10.0, |handle| {
        Box::pin(async move {
            let h = handle.clone();
            let waiting = handle.create_task(async move {
                getaddrinfo(&h, Some("localhost"), Some("80"), &AddrInfoHints::new()).await
            })?;
            handle.sleep(0.0).await?;
            waiting.cancel();
            let cancelled = waiting.wait().await.unwrap_err().is_cancelled();
            let next = getaddrinfo(
                &handle,
                Some("127.0.0.1"),
                Some("80"),
                &AddrInfoHints::new(),
            )
            .await?;
            Ok((cancelled, next))
        })
    });
    assert!(cancelled);
    assert!(next
        .iter()
        .any(|entry| entry.address.to_string() == "127.0.0.1:80"));
}
