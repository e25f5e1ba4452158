//! Smoke (temporary).
use bmpack_tests::bluemind::Generation;
use bmpack_tests::booted::Release;
use bmpack_tests::server::Server;

#[test]
fn smoke() {
    let s = Server::debian(Release::Bookworm, Generation::BlueMind5);
    let out = s.when("apt-get install -y bm-nextcloud-common bm-nextcloud12 2>&1 | grep -v Reading");
    println!("{out}");
    for svc in ["bm-core", "bm-webserver"] {
        println!("{svc}: {:?} journal={}", s.starts(svc), s.journal_starts(svc));
    }
    s.given("true");
    let out = s.when("apt-get install -y --reinstall bm-nextcloud-common bm-nextcloud12 2>&1 | grep -v Reading");
    println!("{out}");
    for svc in ["bm-core", "bm-webserver"] {
        println!("{svc}: {:?} journal={}", s.starts(svc), s.journal_starts(svc));
    }
    println!("{}", s.when("cat /etc/dpkg/dpkg.cfg.d/bm-plugin-reload; ls -la /var/lib/bm-plugin-reload; cat /var/lib/bm-plugin-reload/*; journalctl -u bm-webserver -o cat | tail -20"));
}
