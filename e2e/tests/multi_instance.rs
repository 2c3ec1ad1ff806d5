//! Three chat instances on one Redis; every request of every client goes to an instance
//! picked at random. Delivery must be exact: every message once, in order, to exactly the
//! clients it is meant for.

use std::time::Duration;

use socket_serve_e2e::{load, Cluster, LoadOptions};

fn options() -> LoadOptions {
    LoadOptions {
        users: 20,
        messages: 500,
        rooms: 4,
        cut_streams: None,
        pace: Duration::ZERO,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_clients_on_three_instances_receive_exactly_their_messages() {
    let cluster = Cluster::start(3, &[("SOCKET_SERVE_HEARTBEAT_MS", "1000")]);
    let report = load::run(cluster.urls(), options(), async {}).await;
    report.assert_exact();
    assert!(report.expected > 20 * 500, "{report:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_stays_exact_through_stream_cuts_an_instance_kill_and_a_redis_restart() {
    // Small replay steps, so that resumes also cross many batch boundaries.
    let env = [
        ("SOCKET_SERVE_HEARTBEAT_MS", "1000"),
        ("SOCKET_SERVE_REPLAY_BATCH", "7"),
    ];
    let mut cluster = Cluster::start(3, &env);
    let urls = cluster.urls();
    let options = LoadOptions {
        cut_streams: Some((Duration::from_secs(1), Duration::from_secs(3))),
        ..options()
    };
    let chaos = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        // Process control blocks: keep it off the async workers.
        tokio::task::block_in_place(|| {
            cluster.kill(0);
            cluster.start_instance();
        });
        tokio::time::sleep(Duration::from_secs(2)).await;
        tokio::task::block_in_place(|| cluster.restart_redis());
    };
    let report = load::run(urls, options, chaos).await;
    report.assert_exact();
    assert!(
        report.streams_opened > 20,
        "streams were not cut: {report:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_loses_nothing_and_no_client_sees_an_error() {
    let mut cluster = Cluster::start(3, &[("SOCKET_SERVE_HEARTBEAT_MS", "1000")]);
    let urls = cluster.urls();
    let chaos = async {
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let took = tokio::task::block_in_place(|| {
                let took = cluster.terminate(0);
                cluster.start_instance();
                took
            });
            assert!(took < Duration::from_secs(12), "shutdown took {took:?}");
        }
    };
    let report = load::run(urls, options(), chaos).await;
    report.assert_exact();
}
