# shellcheck shell=bash
# Sourced by bench/run: section 5c, HTTPS inspection (bench/run https runs this part alone and replaces it in the
# results file). Squid 5 with ssl-bump (Debian's squid-openssl: it peeks at the ClientHello, stares at the origin's
# certificate, bumps, and mimics that certificate; its helper security_file_certgen makes them) + c-icap echo
# (REQMOD + RESPMOD), against Portcullis inspecting (proxy.tls.inspect) with its own ICAP server. One nginx TLS origin
# whose certificate is chosen by the SNI from a test CA's (origin.bench.test, and h0..h(HTTPS_HOSTS-1).bench.test,
# each its own). The load is bench/httpsload.c: CONNECT 127.0.0.1:PORT, TLS with the name in the SNI, the certificate
# verified against the proxy's CA, then keep-alive GETs (requests) or one GET per tunnel (handshakes).
# Cases: requests at 1 KiB, 64 KiB, 1 MiB; handshakes warm (the hosts' certificates made and kept: the caches hold
# them; hs-one: the same one at a time, for a handshake's own cost) and cold (caches as small as each proxy allows:
# a certificate made, and the origin's looked at, for every handshake), beside the origin reached directly (a plain
# TLS handshake: what inspection adds is the difference).
# Uses from bench/run: TMP, JAR, SQUID, NGINX, RUNS, DURATION, free_port, wait_port, wait_ready, start_portcullis,
# stop_pid, cpu_ticks, median, die.

HTTPS_CONNECTIONS=${HTTPS_CONNECTIONS:-32}
HTTPS_HS_CONNECTIONS=${HTTPS_HS_CONNECTIONS:-8}   # handshakes: fewer at once, each a new tunnel
HTTPS_HOSTS=${HTTPS_HOSTS:-50}
HTTPS_WARMUP=${HTTPS_WARMUP:-20}                  # seconds of load before the first measured run, per proxy
HTTPS_OBJECTS=${HTTPS_OBJECTS:-"1k 64k 1m"}

# hs_conns CASE: connections at once for a handshake case; hs-one: one, so that a handshake's own cost shows, not
# its wait behind others
hs_conns() { if [ "$1" = hs-one ]; then echo 1; else echo "$HTTPS_HS_CONNECTIONS"; fi; }

# https_load SETUP-PIDS... -- httpsload ARGS: one measured run; prints "rps p50 p99 hs_per_s hs_p50 hs_p99 errors cpu_s"
https_load() {
  local pids=() out c0 c1
  while [ "$1" != -- ]; do pids+=("$1"); shift; done
  shift
  c0=$(cpu_ticks "${pids[@]}")
  out=$("$TMP/httpsload" "$@" 2>>"$TMP/https/load-errors.log") || die "httpsload failed: $*"
  c1=$(cpu_ticks "${pids[@]}")
  echo "$out" >> "$TMP/https/results.txt"
  awk -v cpu="$(( c1 - c0 ))" -v tck="$TCK" '/^RESULT/ {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "%s %s %s %s %s %s %s %.2f\n", v["rps"], v["p50_ms"], v["p99_ms"], v["hs_per_s"], v["hs_p50_ms"],
      v["hs_p99_ms"], v["errors"], cpu / tck }' <<<"$out"
}

https_inspection() {
  local d=$TMP/https i o r s out hn sp pp padm icp token
  local -A H_RPS H_P50 H_P99 H_HS H_HSP50 H_HSP99 H_ERR H_CPU
  mkdir -p "$d/www" "$d/certs" "$d/nginx" "$d/squid" "$d/c-icap" "$d/tmp"
  chmod 755 "$d" "$d/www"
  echo
  echo "## HTTPS inspection"
  echo
  echo "Measured on $(date -u +%Y-%m-%d) (commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'); \`bench/run https\`" \
       "runs this part alone); $(nproc) CPUs, $(java -version 2>&1 | head -1), $("$SQUID" -v | head -1 | sed 's/ for .*//')" \
       "with ssl-bump, $(openssl version | cut -d' ' -f1-2); load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Load: bench/httpsload.c, $HTTPS_CONNECTIONS connections for requests, $HTTPS_HS_CONNECTIONS for handshakes;" \
       "RUNS=$RUNS of ${DURATION}s each, the proxies alternating; medians. (h) Squid ssl-bump + c-icap echo," \
       "(i) Portcullis inspecting + its ICAP."
  gcc -O2 -pthread -o "$TMP/httpsload" bench/httpsload.c -lssl -lcrypto || die "bench/httpsload.c does not build (libssl-dev?)"
  head -c 1024 /dev/urandom > "$d/www/1k.bin"
  head -c 65536 /dev/urandom > "$d/www/64k.bin"
  head -c 1048576 /dev/urandom > "$d/www/1m.bin"
  chmod 644 "$d/www"/*.bin

  # The origin's CA and certificates: one per host name, so that each host is a certificate to mimic anew.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/certs/origin-ca.key" \
    -out "$d/certs/origin-ca.crt" -days 30 -subj "/CN=Bench origin CA" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign 2>/dev/null || die "openssl: origin CA"
  for i in origin $(seq 0 $((HTTPS_HOSTS - 1))); do
    local name=$i.bench.test
    [ "$i" = origin ] || name=h$i.bench.test
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/certs/$name.key" \
      -out "$d/certs/$name.csr" -subj "/CN=$name" 2>/dev/null
    printf 'subjectAltName=DNS:%s\n' "$name" > "$d/certs/$name.ext"
    openssl x509 -req -in "$d/certs/$name.csr" -CA "$d/certs/origin-ca.crt" -CAkey "$d/certs/origin-ca.key" \
      -CAcreateserial -out "$d/certs/$name.crt" -days 10 -extfile "$d/certs/$name.ext" 2>/dev/null \
      || die "openssl: $name"
  done
  chmod 644 "$d/certs"/*
  hn=$(free_port)
  cat > "$d/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $d/nginx/nginx.pid;
error_log $d/nginx/error.log warn;
events { worker_connections 4096; }
http {
  client_body_temp_path $d/tmp; proxy_temp_path $d/tmp; fastcgi_temp_path $d/tmp; uwsgi_temp_path $d/tmp;
  scgi_temp_path $d/tmp;
  default_type application/octet-stream;
  sendfile on;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  access_log off;
  server {
    listen 127.0.0.1:$hn ssl;
    ssl_certificate $d/certs/\$ssl_server_name.crt;
    ssl_certificate_key $d/certs/\$ssl_server_name.key;
    root $d/www;
  }
}
EOF
  "$NGINX" -p "$d/nginx" -e "$d/nginx/error.log" -c "$d/nginx/nginx.conf" > "$d/nginx/nginx.out" 2>&1 &
  PIDS+=("$!")
  wait_port "nginx (TLS)" "$!" "$hn" "$d/nginx/error.log"

  # c-icap echo for Squid
  icp=$(free_port)
  cat > "$d/c-icap/c-icap.conf" <<EOF
Port 127.0.0.1:$icp
PidFile $d/c-icap/c-icap.pid
CommandsSocket $d/c-icap/c-icap.ctl
ServerLog $d/c-icap/server.log
AccessLog $d/c-icap/access.log
TmpDir $d/c-icap
StartServers 2
MaxServers 4
ThreadsPerChild 96
MinSpareThreads 10
MaxSpareThreads 200
MaxRequestsPerChild 0
MaxKeepAliveRequests -1
KeepAliveTimeout 600
Timeout 300
DebugLevel 1
Pipelining on
ModulesDir $C_ICAP_LIB
ServicesDir $C_ICAP_LIB
Service echo srv_echo.so
EOF
  c-icap -N -f "$d/c-icap/c-icap.conf" > "$d/c-icap/c-icap.out" 2>&1 &
  local cpid=$!
  PIDS+=("$cpid")

  # Squid's bump CA (RSA, as Squid's own docs make it)
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/squid/ca.key" -out "$d/squid/ca.crt" -days 30 \
    -subj "/CN=Bench Squid bump CA" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign 2>/dev/null || die "openssl: Squid's CA"
  cat "$d/squid/ca.crt" "$d/squid/ca.key" > "$d/squid/ca.pem"
  sp=$(free_port)
  # Squid forwards a bumped request to its Host, looked up: the bench's names are in a hosts file of its own.
  { printf '127.0.0.1 origin.bench.test'; for i in $(seq 0 $((HTTPS_HOSTS - 1))); do printf ' h%s.bench.test' "$i"; done
    echo; } > "$d/squid/hosts"
  squid_bump() {   # squid_bump warm|cold: (re)starts Squid with caches as said (sets SQPID)
    local mem=4MB disk=16MB
    if [ "$1" = cold ]; then mem=0KB disk=16KB; fi
    [ -n "${SQPID:-}" ] && stop_pid "$SQPID"
    rm -rf "$d/squid/ssl_db"
    /usr/lib/squid/security_file_certgen -c -s "$d/squid/ssl_db" -M "$disk" > /dev/null
    cat > "$d/squid/squid.conf" <<EOF
http_port 127.0.0.1:$sp ssl-bump tls-cert=$d/squid/ca.pem generate-host-certificates=on dynamic_cert_mem_cache_size=$mem
sslcrtd_program /usr/lib/squid/security_file_certgen -s $d/squid/ssl_db -M $disk
sslcrtd_children 8 startup=4 idle=2
acl step1 at_step SslBump1
acl step2 at_step SslBump2
ssl_bump peek step1
ssl_bump stare step2
ssl_bump bump all
tls_outgoing_options cafile=$d/certs/origin-ca.crt
hosts_file $d/squid/hosts
pid_filename $d/squid/squid.pid
access_log none
cache_log $d/squid/cache.log
cache_effective_user proxy
cache deny all
shutdown_lifetime 1 seconds
coredump_dir $d/squid
netdb_filename none
pinger_enable off
max_filedescriptors 8192
http_access allow localhost
http_access deny all
icap_enable on
icap_service svc_req reqmod_precache bypass=off icap://127.0.0.1:$icp/echo
icap_service svc_resp respmod_precache bypass=off icap://127.0.0.1:$icp/echo
adaptation_access svc_req allow all
adaptation_access svc_resp allow all
EOF
    if [ "$(id -u)" = 0 ]; then chown -R proxy:proxy "$d/squid"; fi
    "$SQUID" -k parse -f "$d/squid/squid.conf" > "$d/squid/parse.out" 2>&1 \
      || die "squid -k parse (ssl-bump; squid-openssl installed?): $(tail -5 "$d/squid/parse.out")"
    "$SQUID" -N -f "$d/squid/squid.conf" -n "benchhttps$sp" > "$d/squid/squid.out" 2>&1 &
    SQPID=$!
    PIDS+=("$SQPID")
    wait_port "Squid ssl-bump" "$SQPID" "$sp" "$d/squid/cache.log"
  }

  # Portcullis: inspection on, its own ICAP server; cold: the smallest caches (one certificate, one origin's)
  pp=$(free_port); padm=$(free_port)
  mkdir -p "$TMP/phttps"
  cp "$d/certs/origin-ca.crt" "$TMP/phttps/origin-ca.crt"
  https_portcullis_config() {   # the config text; $1: the cache's maxEntries
    printf 'node: { name: phttps, shutdownGrace: 1s }\nadmin: { listen: 127.0.0.1:%s }\nproxy: { deniedDestinations: [], listen: 127.0.0.1:%s, connectPorts: [%s], tls: { inspect: true, trust: [origin-ca.crt], cache: { maxEntries: %s } } }\nicap: { listen: 127.0.0.1:%s }\n' \
      "$padm" "$pp" "$hn" "$1" "$(free_port)"
  }
  https_portcullis_config 10000 > "$TMP/phttps/portcullis.yaml"
  # shellcheck disable=SC2086
  java ${PORTCULLIS_JAVA_OPTS:-} -jar "$JAR" --config "$TMP/phttps/portcullis.yaml" --data-dir "$TMP/phttps/data" \
    > "$TMP/phttps/portcullis.log" 2>&1 &
  local ppid=$!
  PIDS+=("$ppid")
  wait_ready "Portcullis (inspecting)" "$ppid" "$padm" "$TMP/phttps/portcullis.log"
  token=$(cat "$TMP/phttps/data/admin.token")
  https_portcullis_commit() {   # https_portcullis_commit MAX-ENTRIES: a commit (new caches, empty)
    local body
    body=$(python3 -c 'import json,sys; print(json.dumps({"yaml": sys.stdin.read()}))' <<<"$(https_portcullis_config "$1")")
    curl -sf -X PUT -H "Authorization: Bearer $token" -H 'Content-Type: application/json' --data "$body" \
      "http://127.0.0.1:$padm/api/v1/candidate" > /dev/null || die "Portcullis: candidate refused"
    curl -sf -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' --data '{}' \
      "http://127.0.0.1:$padm/api/v1/commit" > /dev/null || die "Portcullis: commit refused"
  }
  squid_bump warm

  local pca=$TMP/phttps/data/tls/ca.crt sca=$d/squid/ca.crt
  # Each proxy shows its own certificate for the origin: a check that the tunnel is inspected, not passed through.
  for s in h i; do
    local port=$sp ca=$sca
    [ "$s" = i ] && port=$pp ca=$pca
    local issuer
    issuer=$(timeout 20 openssl s_client -proxy "127.0.0.1:$port" -connect "127.0.0.1:$hn" -servername origin.bench.test \
      -CAfile "$ca" < /dev/null 2>/dev/null | sed -n 's/^issuer=//p' | head -1)
    case "$s:$issuer" in
      h:*"Squid bump CA"*|i:*Portcullis*) ;;
      *) die "($s) does not show its own certificate for the origin (issuer: $issuer)" ;;
    esac
  done

  # Warm-up: the JVM's JIT and both proxies' caches, on every object and host
  for s in h i; do
    local port=$sp ca=$sca pid=$SQPID
    [ "$s" = i ] && port=$pp ca=$pca pid=$ppid
    for o in $HTTPS_OBJECTS; do
      "$TMP/httpsload" --proxy "127.0.0.1:$port" --target "127.0.0.1:$hn" --sni origin.bench.test --cafile "$ca" \
        --path "/$o.bin" --connections "$HTTPS_CONNECTIONS" --seconds "$(( HTTPS_WARMUP / 4 + 1 ))" --warmup 0 > /dev/null
    done
    "$TMP/httpsload" --proxy "127.0.0.1:$port" --target "127.0.0.1:$hn" --sni 'h%d.bench.test' \
      --sni-count "$HTTPS_HOSTS" --mode handshakes --cafile "$ca" --path /1k.bin \
      --connections "$HTTPS_HS_CONNECTIONS" --seconds "$(( HTTPS_WARMUP / 4 + 1 ))" --warmup 0 > /dev/null
  done

  local -a cases=()
  for o in $HTTPS_OBJECTS; do cases+=("req-$o"); done
  cases+=(hs-warm hs-one)
  for r in $(seq 1 "$RUNS"); do
    for c in "${cases[@]}"; do
      for s in h i; do
        local port=$sp ca=$sca pids=("$SQPID" "$cpid")
        [ "$s" = i ] && port=$pp ca=$pca pids=("$ppid")
        case $c in
          req-*) out=$(https_load "${pids[@]}" -- --proxy "127.0.0.1:$port" --target "127.0.0.1:$hn" \
                   --sni origin.bench.test --cafile "$ca" --path "/${c#req-}.bin" --connections "$HTTPS_CONNECTIONS" \
                   --seconds "$DURATION" --warmup 1) ;;
          hs-*) out=$(https_load "${pids[@]}" -- --proxy "127.0.0.1:$port" --target "127.0.0.1:$hn" \
                  --sni 'h%d.bench.test' --sni-count "$HTTPS_HOSTS" --mode handshakes --cafile "$ca" --path /1k.bin \
                  --connections "$(hs_conns "$c")" --seconds "$DURATION" --warmup 1) ;;
        esac
        read -r H_RPS[$s,$c,$r] H_P50[$s,$c,$r] H_P99[$s,$c,$r] H_HS[$s,$c,$r] H_HSP50[$s,$c,$r] H_HSP99[$s,$c,$r] \
          H_ERR[$s,$c,$r] H_CPU[$s,$c,$r] <<<"$out"
      done
      # the origin reached directly: the plain TLS handshake inspection is compared with
      if [[ $c == hs-* ]]; then
        out=$(https_load "$ppid" -- --target "127.0.0.1:$hn" --sni 'h%d.bench.test' --sni-count "$HTTPS_HOSTS" \
          --mode handshakes --cafile "$d/certs/origin-ca.crt" --path /1k.bin --connections "$(hs_conns "$c")" \
          --seconds "$DURATION" --warmup 1)
        read -r H_RPS[o,$c,$r] H_P50[o,$c,$r] H_P99[o,$c,$r] H_HS[o,$c,$r] H_HSP50[o,$c,$r] H_HSP99[o,$c,$r] \
          H_ERR[o,$c,$r] H_CPU[o,$c,$r] <<<"$out"
      fi
    done
    echo "https run $r of $RUNS done" >&2
  done
  # Cold: the smallest caches each proxy allows, every host new to them at each handshake (HTTPS_HOSTS in turn)
  squid_bump cold
  https_portcullis_commit 1
  c=hs-cold
  for r in $(seq 1 "$RUNS"); do
    for s in h i; do
      local port=$sp ca=$sca pids=("$SQPID" "$cpid")
      [ "$s" = i ] && port=$pp ca=$pca pids=("$ppid")
      out=$(https_load "${pids[@]}" -- --proxy "127.0.0.1:$port" --target "127.0.0.1:$hn" --sni 'h%d.bench.test' \
        --sni-count "$HTTPS_HOSTS" --mode handshakes --cafile "$ca" --path /1k.bin \
        --connections "$HTTPS_HS_CONNECTIONS" --seconds "$DURATION" --warmup 1)
      read -r H_RPS[$s,$c,$r] H_P50[$s,$c,$r] H_P99[$s,$c,$r] H_HS[$s,$c,$r] H_HSP50[$s,$c,$r] H_HSP99[$s,$c,$r] \
        H_ERR[$s,$c,$r] H_CPU[$s,$c,$r] <<<"$out"
    done
  done
  cases+=(hs-cold)
  local minted
  minted=$(curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$padm/metrics" \
    | awk '/^portcullis_tls_certificates_total\{cache="miss"/ {print $2}')

  # The table: medians of the runs (bench/run's markdown puts the blank lines around tables)
  med() { local k=$1 s=$2 c=$3 a=() r; for r in $(seq 1 "$RUNS"); do eval "a+=(\"\${$k[$s,$c,$r]:-0}\")"; done; median "${a[@]}"; }
  echo "| Case | Setup | req/s | p50 ms | p99 ms | handshakes/s | handshake p50 ms | handshake p99 ms | CPU s / 10k | errors |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  local total_err=0
  for c in "${cases[@]}"; do
    for s in o h i; do
      [ -n "${H_RPS[$s,$c,1]:-}" ] || continue
      local label
      case $s in o) label="origin direct (plain TLS)";; h) label="(h) Squid ssl-bump + c-icap";; i) label="(i) Portcullis + ICAP";; esac
      local rps p50 p99 hs hp50 hp99 cpu err=0
      rps=$(med H_RPS "$s" "$c"); p50=$(med H_P50 "$s" "$c"); p99=$(med H_P99 "$s" "$c")
      hs=$(med H_HS "$s" "$c"); hp50=$(med H_HSP50 "$s" "$c"); hp99=$(med H_HSP99 "$s" "$c"); cpu=$(med H_CPU "$s" "$c")
      for r in $(seq 1 "$RUNS"); do err=$((err + ${H_ERR[$s,$c,$r]:-0})); done
      total_err=$((total_err + err))
      awk -v c="$c" -v l="$label" -v rps="$rps" -v p50="$p50" -v p99="$p99" -v hs="$hs" -v hp50="$hp50" -v hp99="$hp99" \
        -v cpu="$cpu" -v err="$err" -v dur="$DURATION" 'BEGIN {
        n = (hs > 0 ? hs : rps) * dur; per = (n > 0 ? cpu / n * 10000 : 0);
        if (c ~ /^req/) printf "| %s | %s | %.0f | %.2f | %.2f | | | | %.2f | %d |\n", c, l, rps, p50, p99, per, err;
        else printf "| %s | %s | | | | %.0f | %.2f | %.2f | %.2f | %d |\n", c, l, hs, hp50, hp99, per, err }'
    done
  done
  echo "The origin reached directly chooses its certificate by the SNI from files at each handshake (nginx's"
  echo "ssl_certificate with \$ssl_server_name), a cost the proxies' kept certificates do not have."
  echo "Ratios and targets (issue 30: >= 2x Squid ssl-bump + c-icap req/s with a lower p99; a warm handshake within 1 ms of a plain one):"
  echo "| Ratio | Case | (i) / (h) | target | met |"
  echo "|---|---|---|---|---|"
  for c in "${cases[@]}"; do
    local a b ap bp
    if [[ $c == req-* ]]; then
      a=$(med H_RPS i "$c"); b=$(med H_RPS h "$c"); ap=$(med H_P99 i "$c"); bp=$(med H_P99 h "$c")
      awk -v c="$c" -v a="$a" -v b="$b" -v ap="$ap" -v bp="$bp" 'BEGIN { r = (b > 0 ? a / b : 0);
        printf "| req/s, p99 | %s | %.2fx, p99 %.2fx | >= 2x, p99 < 1x | %s |\n", c, r, (bp > 0 ? ap / bp : 0),
          (r >= 2 && ap < bp ? "yes" : "NO") }'
    else
      a=$(med H_HS i "$c"); b=$(med H_HS h "$c")
      awk -v c="$c" -v a="$a" -v b="$b" 'BEGIN { printf "| handshakes/s | %s | %.2fx | - | - |\n", c, (b > 0 ? a / b : 0) }'
    fi
  done
  local warm plain
  warm=$(med H_HSP50 i hs-one); plain=$(med H_HSP50 o hs-one)
  awk -v w="$warm" -v p="$plain" 'BEGIN { printf "| handshake p50 over plain TLS, one at a time | hs-one | %+.2f ms | < 1 ms | %s |\n",
    w - p, (w - p < 1 ? "yes" : "NO") }'
  echo "Portcullis minted ${minted:-?} certificates in all (portcullis_tls_certificates_total{cache=\"miss\"}); errors in all: $total_err"
  [ "$total_err" = 0 ] || echo "WARNING: httpsload counted $total_err errors (see $d/../https/load-errors.log)"
  stop_pid "$ppid"; stop_pid "$SQPID"; stop_pid "$cpid"
}
