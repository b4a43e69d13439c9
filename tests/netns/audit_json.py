"""audit_json.py GROUP FILE: checks tlswall audit --json output of one group of t_audit.sh, field by field."""
import json
import sys

group, path = sys.argv[1], sys.argv[2]
d = json.load(open(path))
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def row(port, proto="tcp", family=None, rows=None):
    for r in rows if rows is not None else d["listeners"]:
        if r["port"] == port and r["proto"] == proto and (family is None or (":" in r["address"]) == (family == 6)):
            return r
    raise SystemExit("%s: no row for %d/%s in %s" % (group, port, proto, path))


def codes(r):
    return sorted(f["code"] for f in r["findings"])


def severities(r):
    return {f["code"]: f["severity"] for f in r["findings"]}


# the envelope, for every group
check(list(d) == ["file", "probed", "timeout_ms", "expiry_days", "expected_name", "elapsed_ms", "listeners",
                  "published", "no_listener", "findings", "schema"], "top-level keys in order: %s" % list(d))
# no other table publishes anything in these namespaces
check(d["published"] == [], "published: %s" % d["published"])
check(d["file"] == group + ".conf", "file")
check(d["probed"] is True, "probed")
check(d["timeout_ms"] == 2000, "timeout_ms")
check(d["expiry_days"] == 30, "expiry_days")
check(d["expected_name"] == "host.test", "expected_name")
check(isinstance(d["elapsed_ms"], int) and d["elapsed_ms"] >= 0, "elapsed_ms")
check(d["schema"] == 1, "schema")
counted = {"critical": 0, "warning": 0, "info": 0}
for r in d["listeners"] + d["no_listener"]:
    check(list(r)[:8] == ["proto", "port", "address", "processes", "verdict", "entry", "reason", "line"],
          "row keys: %s" % list(r))
    check(r["published"] is None, "a listener's published: %s" % r["published"])
    for f in r["findings"]:
        check(list(f) == ["severity", "code", "message"], "finding keys")
        counted[f["severity"]] += 1
for k in counted:
    check(d["findings"][k] == counted[k], "findings.%s is %s, counted %s" % (k, d["findings"][k], counted[k]))
worst = next((s for s in ("critical", "warning", "info") if counted[s]), None)
check(d["findings"]["worst"] == worst, "findings.worst")


def tls_ok(r, version="TLSv1.3", subject="CN=host.test"):
    p = r["probe"]
    check(p["status"] == "ok", "%d: status %s" % (r["port"], p["status"]))
    t = p["tls"]
    check(t["version"] == version, "%d: version %s" % (r["port"], t["version"]))
    check(t["cipher"].startswith("TLS_") or "-" in t["cipher"], "%d: cipher %s" % (r["port"], t["cipher"]))
    check(t["subject"] == subject, "%d: subject %s" % (r["port"], t["subject"]))
    check(t["issuer"] == "CN=tlswall test CA", "%d: issuer %s" % (r["port"], t["issuer"]))
    check(t["names"] == ["DNS:" + subject[3:]], "%d: names %s" % (r["port"], t["names"]))
    check(len(t["not_after"]) == 20 and t["not_after"].endswith("Z"), "%d: not_after" % r["port"])
    return t


if group == "tls":
    r = row(443)
    check(r["address"] == "::" and r["verdict"] == "tls" and r["entry"] == "https" and r["line"] == 3, "443 row")
    check(r["reason"] is None, "443 reason")
    check(r["processes"][0]["name"] == "openssl" and r["processes"][0]["pid"] > 1, "443 processes")
    p = r["probe"]
    check(p["kind"] == "tls" and p["address"] == "::1" and p["detail"] is None, "443 probe %s" % p)
    check(isinstance(p["elapsed_ms"], int), "443 elapsed_ms")
    t = tls_ok(r)
    check(t["days_left"] == 364 and t["name_matches"] is True, "443 days/name %s" % t)
    check(p["answer"] is None and p["legacy"] == [], "443 answer/legacy")
    check(r["findings"] == [], "443 findings %s" % r["findings"])
    r = row(993)
    t = tls_ok(r)
    check(t["days_left"] == 4, "993 days_left %s" % t["days_left"])
    check(severities(r) == {"cert_expiring": "warning"}, "993 %s" % r["findings"])
    r = row(995)
    t = tls_ok(r)
    check(t["days_left"] == -3, "995 days_left %s" % t["days_left"])
    check(severities(r) == {"cert_expired": "critical"}, "995 %s" % r["findings"])
    r = row(636)
    t = tls_ok(r, subject="CN=other.test")
    check(t["name_matches"] is False, "636 name_matches")
    check(severities(r) == {"cert_name": "warning"}, "636 %s" % r["findings"])
    r = row(465)
    tls_ok(r)
    check(r["probe"]["legacy"] == ["TLSv1"], "465 legacy %s" % r["probe"]["legacy"])
    check(severities(r) == {"legacy_tls": "warning"}, "465 %s" % r["findings"])
    r = row(22)
    check(r["verdict"] == "exempt" and r["entry"] == "ssh" and r["reason"] == "SSH is encrypted but not TLS"
          and r["line"] == 11 and r["probe"] is None, "22 row %s" % r)
    r = row(8080)
    check(r["verdict"] == "blocked" and r["entry"] is None and r["line"] is None and r["probe"] is None, "8080 %s" % r)
    r = row(9999)
    check(r["verdict"] == "local" and r["address"] == "127.0.0.1" and r["probe"] is None, "9999 %s" % r)
    idle = [(r["port"], r["proto"], r["entry"], r["address"], r["port_last"], r["processes"])
            for r in d["no_listener"]]
    check(idle == [(443, "udp", "https", None, 443, []), (563, "tcp", "nntps", None, 563, [])], "no_listener %s" % idle)

if group == "web":
    r = row(443)
    tls_ok(r)
    r = row(443, "udp")
    p = r["probe"]
    check(p["kind"] == "quic" and p["status"] == "ok" and p["detail"] == "Version Negotiation", "quic %s" % p)
    check(p["quic"]["reply"] == "version_negotiation" and 1 in p["quic"]["versions"], "quic versions %s" % p)
    check(r["findings"] == [], "quic findings")

if group == "plain":
    r = row(443)
    p = r["probe"]
    check(p["status"] in ("failed", "closed") and p["tls"] is None, "443 %s" % p)
    check(p["answer"] == "HTTP/1.0 400 Bad Request", "443 answer %s" % p["answer"])
    check(severities(r) == {"plaintext": "critical"}, "443 %s" % r["findings"])
    r = row(443, "udp")
    check(r["probe"]["status"] == "timeout" and r["probe"]["quic"] is None, "443/udp %s" % r["probe"])
    check(severities(r) == {"quic_no_answer": "warning"}, "443/udp %s" % r["findings"])
    r = row(993)
    check(r["probe"]["status"] == "timeout" and r["probe"]["detail"] == "no answer to the TLS ClientHello",
          "993 %s" % r["probe"])
    check(severities(r) == {"no_handshake": "warning"}, "993 %s" % r["findings"])
    check(r["probe"]["elapsed_ms"] >= 1900, "993 elapsed %s" % r["probe"]["elapsed_ms"])
    r = row(995)
    check(severities(r) == {"plaintext": "critical"}, "995 %s" % r["findings"])

if group == "mail":
    commands = {21: ("ftp", "AUTH TLS"), 25: ("smtp", "STARTTLS"), 587: ("submission", "STARTTLS"),
                110: ("pop3", "STLS"), 143: ("imap", "STARTTLS"), 119: ("nntp", "STARTTLS"),
                389: ("ldap", "StartTLS"), 4190: ("sieve", "STARTTLS"), 5222: ("xmpp-client", "STARTTLS"),
                5269: ("xmpp-server", "STARTTLS"), 5432: ("postgresql", "SSLRequest")}
    for port, (proto, command) in commands.items():
        for r in [x for x in d["listeners"] if x["port"] == port]:
            check(r["verdict"] == "starttls" and r["entry"] == proto, "%d verdict" % port)
            s = r["probe"]["starttls"]
            check(s == {"protocol": proto, "command": command, "offered": True, "upgraded": True,
                        "plaintext_login": None}, "%d starttls %s" % (port, s))
            tls_ok(r)
            check([f for f in r["findings"] if f["severity"] != "info"] == [], "%d findings %s" % (port, r["findings"]))
    check(d["no_listener"] == [], "mail: every service has a listener")

if group == "mailbad":
    for port in (110, 143):
        for r in [x for x in d["listeners"] if x["port"] == port]:
            s = r["probe"]["starttls"]
            check(r["probe"]["status"] == "not_offered" and s["offered"] is False and s["upgraded"] is False,
                  "%d %s" % (port, r["probe"]))
            check(s["plaintext_login"] is not None, "%d plaintext_login" % port)
            check(codes(r) == ["plaintext_login", "starttls_not_offered"], "%d %s" % (port, r["findings"]))
    r = row(21)
    check(codes(r) == ["plaintext_login", "starttls_not_offered"], "21 %s" % r["findings"])
    check(r["probe"]["starttls"]["plaintext_login"].startswith("USER before AUTH TLS answered 331"),
          "21 %s" % r["probe"]["starttls"])
    for r in [x for x in d["listeners"] if x["port"] == 25]:
        check(codes(r) == ["starttls_not_offered"], "25 %s" % r["findings"])
    r = row(119)
    check(codes(r) == ["plaintext_login", "starttls_not_offered"], "119 %s" % r["findings"])
    check(all(f["severity"] == "critical" for x in d["listeners"] for f in x["findings"]), "mailbad severities")

for f in failures:
    print("FAIL: %s: %s" % (group, f), file=sys.stderr)
sys.exit(1 if failures else 0)
