# shellcheck shell=bash
# Sourced by bench/run: section 5d, proxy authentication (bench/run auth runs this part alone and replaces it in the
# results file). Two Portcullis nodes, proxy + its ICAP as (e): one without authentication, one with LDAP Basic
# (a real slapd) and Kerberos Negotiate (a real MIT KDC and a keytab), the same 1 KiB object from one nginx; the peer,
# measured in the same run, is Squid + c-icap echo as (c), without authentication and with Squid's own helpers
# against the same slapd and keytab (basic_ldap_auth, negotiate_kerberos_auth). The load
# is bench/httpsload.c --plain: Basic sends alice's credentials on every request (the login cached after the
# first), Negotiate a fresh ticket token on each connection's first request only (one login per connection; the
# tokens are curl's, caught beforehand). The first login's latency is measured on connections that each make one
# request (a connect, a login, an answer).
# Uses from bench/run: TMP, JAR, NGINX, RUNS, DURATION, free_port, wait_port, wait_ready, stop_pid, cpu_ticks,
# median, die.

AUTH_CONNECTIONS=${AUTH_CONNECTIONS:-32}
AUTH_WARMUP=${AUTH_WARMUP:-20}
AUTH_LOGINS=${AUTH_LOGINS:-300}      # first logins measured per run (each a new connection and a fresh ticket)

auth_bench() {
  local d=$TMP/auth ng kp lp pa pb aa ab out r c
  local -A A_RPS A_P50 A_P99 A_HS50 A_HS99 A_ERR
  mkdir -p "$d/www" "$d/tmp" "$d/kdc/db" "$d/slapd/data" "$d/pa" "$d/pb"
  chmod 755 "$d" "$d/www"
  echo
  echo "## Proxy authentication"
  echo
  echo "Measured on $(date -u +%Y-%m-%d) (commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'); \`bench/run auth\`" \
       "runs this part alone); $(nproc) CPUs, $(java -version 2>&1 | head -1); load average at the start:" \
       "$(cut -d' ' -f1-3 /proc/loadavg). Proxy + ICAP, 1 KiB objects, $AUTH_CONNECTIONS kept-alive connections;" \
       "RUNS=$RUNS of ${DURATION}s, the cases alternating; medians. First login: $AUTH_LOGINS connections of one" \
       "request each, 4 at a time."
  gcc -O2 -pthread -o "$TMP/httpsload" bench/httpsload.c -lssl -lcrypto || die "bench/httpsload.c does not build"
  head -c 1024 /dev/urandom > "$d/www/1k.bin"; chmod 644 "$d/www/1k.bin"
  ng=$(free_port)
  cat > "$d/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/nginx-error.log warn;
events { worker_connections 4096; }
http {
  client_body_temp_path $d/tmp; proxy_temp_path $d/tmp; fastcgi_temp_path $d/tmp; uwsgi_temp_path $d/tmp;
  scgi_temp_path $d/tmp;
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$ng; root $d/www; }
}
EOF
  "$NGINX" -p "$d" -e "$d/nginx-error.log" -c "$d/nginx.conf" > "$d/nginx.out" 2>&1 &
  PIDS+=("$!"); wait_port "nginx (auth)" "$!" "$ng" "$d/nginx-error.log"

  # The KDC: realm PORTCULLIS.TEST, alice, HTTP/localhost in a keytab (as test-support's Kdc makes it)
  kp=$(free_port)
  printf '[kdcdefaults]\n kdc_listen = 127.0.0.1:%s\n kdc_tcp_listen = 127.0.0.1:%s\n[realms]\n PORTCULLIS.TEST = {\n  database_name = %s/db/principal\n  key_stash_file = %s/db/stash\n  acl_file = %s/kadm5.acl\n }\n[logging]\n kdc = FILE:%s/kdc.log\n' \
    "$kp" "$kp" "$d/kdc" "$d/kdc" "$d/kdc" "$d/kdc" > "$d/kdc/kdc.conf"
  printf '[libdefaults]\n default_realm = PORTCULLIS.TEST\n dns_lookup_kdc = false\n dns_canonicalize_hostname = false\n rdns = false\n udp_preference_limit = 1\n[realms]\n PORTCULLIS.TEST = {\n  kdc = 127.0.0.1:%s\n }\n[domain_realm]\n localhost = PORTCULLIS.TEST\n' \
    "$kp" > "$d/kdc/krb5.conf"
  : > "$d/kdc/kadm5.acl"
  export KRB5_CONFIG=$d/kdc/krb5.conf KRB5_KDC_PROFILE=$d/kdc/kdc.conf
  kdb5_util create -s -P masterpw -r PORTCULLIS.TEST -d "$d/kdc/db/principal" > "$d/kdc/create.log" 2>&1 || die "kdb5_util"
  kadmin.local -r PORTCULLIS.TEST -q "addprinc -pw alicepw alice" > /dev/null 2>&1
  kadmin.local -r PORTCULLIS.TEST -q "addprinc -randkey HTTP/localhost" > /dev/null 2>&1
  kadmin.local -r PORTCULLIS.TEST -q "ktadd -k $d/pb/http.keytab HTTP/localhost" > /dev/null 2>&1 || die "ktadd"
  krb5kdc -n > "$d/kdc/krb5kdc.out" 2>&1 &
  PIDS+=("$!"); wait_port "krb5kdc" "$!" "$kp" "$d/kdc/kdc.log"
  cp "$d/kdc/krb5.conf" "$d/pb/krb5.conf"
  export KRB5CCNAME=FILE:$d/kdc/alice.cc
  echo alicepw | kinit alice > /dev/null || die "kinit alice"

  # slapd: alice in finance, finance in staff (as test-support's Slapd)
  lp=$(free_port)
  printf 'include /etc/ldap/schema/core.schema\ninclude /etc/ldap/schema/cosine.schema\ninclude /etc/ldap/schema/inetorgperson.schema\ninclude /etc/ldap/schema/nis.schema\nmodulepath /usr/lib/ldap\nmoduleload back_mdb\nmoduleload memberof\npidfile %s/slapd.pid\ndatabase mdb\nmaxsize 16777216\nsuffix "dc=portcullis,dc=test"\nrootdn "cn=admin,dc=portcullis,dc=test"\nrootpw adminpw\ndirectory %s/data\nindex objectClass eq\nindex uid,cn eq\nindex member eq\noverlay memberof\naccess to attrs=userPassword by self write by anonymous auth by * none\naccess to * by * read\n' \
    "$d/slapd" "$d/slapd" > "$d/slapd/slapd.conf"
  slapd -d 0 -f "$d/slapd/slapd.conf" -h "ldap://127.0.0.1:$lp/" > "$d/slapd/slapd.out" 2>&1 &
  PIDS+=("$!"); wait_port "slapd" "$!" "$lp" "$d/slapd/slapd.out"
  printf 'dn: dc=portcullis,dc=test\nobjectClass: dcObject\nobjectClass: organization\ndc: portcullis\no: T\n\ndn: ou=people,dc=portcullis,dc=test\nobjectClass: organizationalUnit\nou: people\n\ndn: ou=groups,dc=portcullis,dc=test\nobjectClass: organizationalUnit\nou: groups\n\ndn: uid=alice,ou=people,dc=portcullis,dc=test\nobjectClass: inetOrgPerson\nuid: alice\ncn: Alice\nsn: A\nuserPassword: alicepw\n\ndn: cn=finance,ou=groups,dc=portcullis,dc=test\nobjectClass: groupOfNames\ncn: finance\nmember: uid=alice,ou=people,dc=portcullis,dc=test\n\ndn: cn=staff,ou=groups,dc=portcullis,dc=test\nobjectClass: groupOfNames\ncn: staff\nmember: cn=finance,ou=groups,dc=portcullis,dc=test\n' \
    > "$d/slapd/base.ldif"
  LDAPNOINIT=1 ldapadd -x -H "ldap://127.0.0.1:$lp" -D cn=admin,dc=portcullis,dc=test -w adminpw \
    -f "$d/slapd/base.ldif" > /dev/null || die "ldapadd"

  # The nodes: A without authentication, B with Negotiate and LDAP
  pa=$(free_port); pb=$(free_port); aa=$(free_port); ab=$(free_port)
  printf 'node: { name: pa, shutdownGrace: 1s }\nadmin: { listen: 127.0.0.1:%s }\nproxy: { deniedDestinations: [], listen: 127.0.0.1:%s }\nicap: { listen: 127.0.0.1:%s }\n' \
    "$aa" "$pa" "$(free_port)" > "$d/pa/portcullis.yaml"
  cat > "$d/pb/portcullis.yaml" <<EOF
node: { name: pb, shutdownGrace: 1s }
admin: { listen: 127.0.0.1:$ab }
icap: { listen: 127.0.0.1:$(free_port) }
proxy:
  deniedDestinations: []
  listen: 127.0.0.1:$pb
  auth:
    enabled: true
    lockout: { maxFailures: 0 }
    negotiate: { keytab: http.keytab, principal: "HTTP/localhost@PORTCULLIS.TEST", krb5Conf: krb5.conf }
    ldap: { url: "ldap://127.0.0.1:$lp", userBase: "ou=people,dc=portcullis,dc=test", groupBase: "ou=groups,dc=portcullis,dc=test" }
EOF
  local n pid
  for n in pa pb; do
    # shellcheck disable=SC2086
    java ${PORTCULLIS_JAVA_OPTS:-} -jar "$JAR" --config "$d/$n/portcullis.yaml" --data-dir "$d/$n/data" \
      > "$d/$n/portcullis.log" 2>&1 &
    pid=$!; PIDS+=("$pid"); eval "APID_$n=$pid"
  done
  wait_ready "Portcullis (no authentication)" "$APID_pa" "$aa" "$d/pa/portcullis.log"
  wait_ready "Portcullis (authentication)" "$APID_pb" "$ab" "$d/pb/portcullis.log"

  # The peer: Squid + c-icap echo (REQMOD and RESPMOD), one Squid without authentication, one with Squid's helpers
  local ci sn sa
  ci=$(free_port); sn=$(free_port); sa=$(free_port)
  mkdir -p "$d/c-icap" "$d/sn" "$d/sa"
  printf 'Port 127.0.0.1:%s\nPidFile %s/c-icap.pid\nCommandsSocket %s/c-icap.ctl\nServerLog %s/server.log\nTmpDir %s\nStartServers 2\nMaxServers 4\nThreadsPerChild 96\nMinSpareThreads 10\nMaxSpareThreads 200\nMaxRequestsPerChild 0\nMaxKeepAliveRequests -1\nKeepAliveTimeout 600\nTimeout 300\nPipelining on\nModulesDir %s\nServicesDir %s\nService echo srv_echo.so\n' \
    "$ci" "$d/c-icap" "$d/c-icap" "$d/c-icap" "$d/c-icap" "$C_ICAP_LIB" "$C_ICAP_LIB" > "$d/c-icap/c-icap.conf"
  c-icap -N -f "$d/c-icap/c-icap.conf" > "$d/c-icap/c-icap.out" 2>&1 &
  PIDS+=("$!"); wait_port "c-icap (auth)" "$!" "$ci" "$d/c-icap/server.log"
  cp "$d/pb/http.keytab" "$d/sa/http.keytab"
  auth_squid() {   # auth_squid NAME PORT ACCESS-LINES...: a Squid + c-icap on PORT (sets SQPID_NAME)
    local n=$1 port=$2; shift 2
    { printf '%s\n' "http_port 127.0.0.1:$port" "pid_filename $d/$n/squid.pid" "access_log none" \
        "cache_log $d/$n/cache.log" "cache_effective_user proxy" "cache deny all" "shutdown_lifetime 1 seconds" \
        "coredump_dir $d/$n" "netdb_filename none" "pinger_enable off" "max_filedescriptors 8192" "$@" \
        "icap_enable on" "icap_service svc_req reqmod_precache bypass=off icap://127.0.0.1:$ci/echo" \
        "icap_service svc_resp respmod_precache bypass=off icap://127.0.0.1:$ci/echo" \
        "adaptation_access svc_req allow all" "adaptation_access svc_resp allow all"; } > "$d/$n/squid.conf"
    chmod 755 "$d/$n"
    if [ "$(id -u)" = 0 ]; then chown -R proxy:proxy "$d/$n"; fi
    "$SQUID" -k parse -f "$d/$n/squid.conf" > "$d/$n/parse.out" 2>&1 || die "squid -k parse (auth): $(tail -5 "$d/$n/parse.out")"
    "$SQUID" -N -f "$d/$n/squid.conf" -n "benchauth$port" > "$d/$n/squid.out" 2>&1 &
    PIDS+=("$!"); eval "SQPID_$n=$!"
    wait_port "Squid ($n)" "$!" "$port" "$d/$n/cache.log"
  }
  auth_squid sn "$sn" "http_access allow localhost" "http_access deny all"
  # As the Squid admins' guides set it: helpers started up front, credentials kept an hour (as cacheTtl), tickets
  # checked against the same keytab with a replay cache (negotiate_kerberos_auth's default).
  auth_squid sa "$sa" \
    "auth_param negotiate program /usr/lib/squid/negotiate_kerberos_auth -k $d/sa/http.keytab -s HTTP/localhost@PORTCULLIS.TEST" \
    "auth_param negotiate children 20 startup=10 idle=5" "auth_param negotiate keep_alive on" \
    "auth_param basic program /usr/lib/squid/basic_ldap_auth -v 3 -b ou=people,dc=portcullis,dc=test -f uid=%s -h 127.0.0.1 -p $lp" \
    "auth_param basic children 10 startup=5 idle=2" "auth_param basic credentialsttl 1 hour" \
    "auth_param basic realm Squid" "acl users proxy_auth REQUIRED" "http_access allow users" "http_access deny all"

  # Tickets: curl's Negotiate tokens, each good once, caught by a listener standing in for the proxy
  local need=$(( (RUNS + 1) * AUTH_CONNECTIONS * 4 + 2 * RUNS * AUTH_LOGINS + 64 ))
  python3 - "$need" "$d/tokens.txt" <<'PY' || die "catching Negotiate tokens failed"
import socket, subprocess, sys
n, out = int(sys.argv[1]), open(sys.argv[2], "w")
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16); port = s.getsockname()[1]
for i in range(n):
    p = subprocess.Popen(["curl", "-s", "--max-time", "5", "--proxy-negotiate", "-U", ":", "-x",
                          "http://localhost:%d" % port, "http://127.0.0.1:1/"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    c, _ = s.accept(); data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(65536)
        if not chunk: break
        data += chunk
    for line in data.split(b"\r\n"):
        if line.lower().startswith(b"proxy-authorization: negotiate "):
            out.write(line[len(b"proxy-authorization: "):].decode() + "\n")
    c.close(); p.kill(); p.wait()
PY
  printf 'Basic %s\n' "$(printf 'alice:alicepw' | base64)" > "$d/basic.txt"
  # Each run takes its own slice of the tokens (the count kept in a file: runs are in subshells)
  local total
  total=$(wc -l < "$d/tokens.txt")
  echo 0 > "$d/slice.n"
  tokens() {
    local s; s=$(cat "$d/slice.n")
    sed -n "$((s + 1)),$((s + $1))p" "$d/tokens.txt" > "$d/slice-$s.txt"
    echo $((s + $1)) > "$d/slice.n"
    echo "$d/slice-$s.txt"
  }
  auth_case() {   # auth_case CASE: one run; prints "rps p50 p99 hs50 hs99 errors" (sq-CASE: through Squid)
    local port=$pb args=() c=$1
    if [[ $c == sq-* ]]; then
      c=${c#sq-}; port=$sa
      [[ $c == none || $c == first-none ]] && port=$sn
    fi
    case $c in
      none) [[ $1 == sq-* ]] || port=$pa ;;
      basic) args=(--auth-file "$d/basic.txt" --auth-every) ;;
      negotiate) args=(--auth-file "$(tokens "$AUTH_CONNECTIONS")") ;;
      first-none) [[ $1 == sq-* ]] || port=$pa ;;
      first-basic) args=(--auth-file "$d/basic.txt" --auth-every) ;;
      first-negotiate) args=(--auth-file "$(tokens "$AUTH_LOGINS")") ;;
    esac
    # first-*: no warm-up second, which would use up the tickets unmeasured (the JVMs are warm by then)
    local mode=(--connections "$AUTH_CONNECTIONS" --warmup 1)
    [[ $c == first-* ]] && mode=(--connections 4 --mode handshakes --warmup 0)
    "$TMP/httpsload" --plain --proxy "127.0.0.1:$port" --target "127.0.0.1:$ng" --path /1k.bin "${mode[@]}" "${args[@]}" \
      --seconds "$DURATION" 2>>"$d/load-errors.log" | tee -a "$d/results.txt" | awk '/^RESULT/ {
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "%s %s %s %s %s %s\n", v["rps"], v["p50_ms"], v["p99_ms"], v["hs_p50_ms"], v["hs_p99_ms"], v["errors"] }'
  }
  # Warm-up: both JVMs, every case (the Basic login and its groups cached, the Kerberos acceptor's code compiled)
  local saved=$DURATION; DURATION=$(( AUTH_WARMUP / 3 + 1 ))
  for c in none basic negotiate sq-none sq-basic sq-negotiate; do auth_case "$c" > /dev/null; done
  DURATION=$saved
  local cases=(none basic negotiate sq-none sq-basic sq-negotiate first-none first-basic first-negotiate sq-first-none
    sq-first-basic sq-first-negotiate)
  for r in $(seq 1 "$RUNS"); do
    for c in "${cases[@]}"; do
      read -r A_RPS[$c,$r] A_P50[$c,$r] A_P99[$c,$r] A_HS50[$c,$r] A_HS99[$c,$r] A_ERR[$c,$r] <<<"$(auth_case "$c")"
    done
    echo "auth run $r of $RUNS done" >&2
  done
  amed() { local k=$1 c=$2 a=() r; for r in $(seq 1 "$RUNS"); do eval "a+=(\"\${$k[$c,$r]:-0}\")"; done; median "${a[@]}"; }
  echo "| Case | Portcullis req/s | p50 ms | p99 ms | vs its no authentication | target | met | Squid + c-icap req/s | p99 ms | vs Squid | errors |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  local base; base=$(amed A_RPS none)
  for c in none basic negotiate; do
    local e=0; for r in $(seq 1 "$RUNS"); do e=$((e + ${A_ERR[$c,$r]:-0} + ${A_ERR[sq-$c,$r]:-0})); done
    awk -v c="$c" -v rps="$(amed A_RPS "$c")" -v p50="$(amed A_P50 "$c")" -v p99="$(amed A_P99 "$c")" -v b="$base" \
      -v srps="$(amed A_RPS "sq-$c")" -v sp99="$(amed A_P99 "sq-$c")" -v e="$e" 'BEGIN {
      r = (b > 0 ? rps / b : 0); t = (c == "none" ? "-" : ">= 0.9x");
      m = (c == "none" ? "-" : (r >= 0.9 ? "yes" : "NO"));
      name = (c == "none" ? "no authentication" : c == "basic" ? "Basic, LDAP user (login cached)" : "Negotiate (Kerberos), one login per connection");
      printf "| %s | %.0f | %.2f | %.2f | %.2fx | %s | %s | %.0f | %.2f | %.2fx | %d |\n", name, rps, p50, p99, r, t, m,
        srps, sp99, (srps > 0 ? rps / srps : 0), e }'
  done
  echo "First login of a connection (connect, login, the answer; one request per connection):"
  echo "| Case | Portcullis p50 ms | p99 ms | Squid + c-icap p50 ms | p99 ms | errors |"
  echo "|---|---|---|---|---|---|"
  for c in first-none first-basic first-negotiate; do
    local e=0; for r in $(seq 1 "$RUNS"); do e=$((e + ${A_ERR[$c,$r]:-0} + ${A_ERR[sq-$c,$r]:-0})); done
    awk -v c="$c" -v p50="$(amed A_HS50 "$c")" -v p99="$(amed A_HS99 "$c")" -v s50="$(amed A_HS50 "sq-$c")" \
      -v s99="$(amed A_HS99 "sq-$c")" -v e="$e" 'BEGIN {
      name = (c == "first-none" ? "no authentication" : c == "first-basic" ? "Basic, LDAP user (cached)" : "Negotiate, a new ticket");
      printf "| %s | %.2f | %.2f | %.2f | %.2f | %d |\n", name, p50, p99, s50, s99, e }'
  done
  echo "Tokens caught: $total, used: $(cat "$d/slice.n")."
  unset KRB5_CONFIG KRB5_KDC_PROFILE KRB5CCNAME
  stop_pid "$APID_pa"; stop_pid "$APID_pb"; stop_pid "$SQPID_sn"; stop_pid "$SQPID_sa"
}
