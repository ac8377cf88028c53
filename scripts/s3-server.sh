#!/usr/bin/env bash
# A real S3-compatible server for Lakeport's tests: versitygw (pinned below)
# with its posix backend on a scratch directory, listening on 127.0.0.1 only,
# with fixed test credentials and one bucket.
#
#   eval "$(scripts/s3-server.sh start)"  # install if missing, start (or reuse), print exports
#   scripts/s3-server.sh env              # print the exports for the running server
#   scripts/s3-server.sh status           # exit 0 if it is up
#   scripts/s3-server.sh stop             # stop it and delete its data
#
# start is idempotent: a server this script already started is reused. All
# progress messages go to stderr; only the export lines go to stdout.
# Environment knobs: LAKEPORT_S3_PORT (default 7070), LAKEPORT_TOOLS_BIN
# (default <repo>/.tmp/bin), LAKEPORT_S3_STATE (default <repo>/.tmp/s3-server).
set -euo pipefail

VERSITYGW_VERSION=v1.8.0
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN_DIR=${LAKEPORT_TOOLS_BIN:-$REPO/.tmp/bin}
STATE=${LAKEPORT_S3_STATE:-$REPO/.tmp/s3-server}
PORT=${LAKEPORT_S3_PORT:-7070}
BUCKET=lakeport-test
ACCESS_KEY=lakeport-test-access
SECRET_KEY=lakeport-test-secret
REGION=us-east-1

log() { echo "s3-server: $*" >&2; }

# The port of a server this script started (recorded at start), else $PORT.
current_port() { cat "$STATE/port" 2>/dev/null || echo "$PORT"; }

# running: the recorded pid is alive and is versitygw.
running() {
	local pid
	pid=$(cat "$STATE/pid" 2>/dev/null) || return 1
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && grep -q versitygw "/proc/$pid/cmdline" 2>/dev/null
}

# healthy PORT: versitygw's health endpoint answers 200.
healthy() {
	timeout 2 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3
		read -r status <&3
		[[ $status == *" 200"* ]]' _ "$1" 2>/dev/null
}

port_in_use() { timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null; }

install() {
	if [[ -x $BIN_DIR/versitygw && $(cat "$BIN_DIR/versitygw.version" 2>/dev/null) == "$VERSITYGW_VERSION" ]]; then
		return
	fi
	log "installing versitygw $VERSITYGW_VERSION into $BIN_DIR (go install)"
	mkdir -p "$BIN_DIR"
	(cd "$BIN_DIR" && GOBIN="$BIN_DIR" GOFLAGS= go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION") >&2
	echo "$VERSITYGW_VERSION" >"$BIN_DIR/versitygw.version"
}

print_env() {
	local port
	port=$(current_port)
	cat <<EOF
export LAKEPORT_TEST_S3_URL='s3://$BUCKET?endpoint=http://127.0.0.1:$port&use_path_style=true&region=$REGION'
export AWS_ACCESS_KEY_ID='$ACCESS_KEY'
export AWS_SECRET_ACCESS_KEY='$SECRET_KEY'
export AWS_EC2_METADATA_DISABLED=true
EOF
}

start() {
	install
	if running && healthy "$(current_port)"; then
		log "already running on 127.0.0.1:$(current_port) (pid $(cat "$STATE/pid"))"
		print_env
		return
	fi
	if running; then # alive but not answering: restart it
		stop
	fi
	if port_in_use "$PORT"; then
		log "127.0.0.1:$PORT is taken by another process; set LAKEPORT_S3_PORT to a free port"
		exit 1
	fi
	mkdir -p "$STATE/data/$BUCKET" # in the posix backend a bucket is a top-level directory
	echo "$PORT" >"$STATE/port"
	nohup "$BIN_DIR/versitygw" --port "127.0.0.1:$PORT" \
		--access "$ACCESS_KEY" --secret "$SECRET_KEY" --region "$REGION" \
		--health /health --quiet \
		posix "$STATE/data" >"$STATE/server.log" 2>&1 </dev/null &
	echo $! >"$STATE/pid"
	for _ in $(seq 100); do
		if healthy "$PORT"; then
			log "started versitygw $VERSITYGW_VERSION on 127.0.0.1:$PORT (pid $(cat "$STATE/pid"), data in $STATE/data)"
			print_env
			return
		fi
		if ! running; then
			break
		fi
		sleep 0.2
	done
	log "versitygw did not come up; its log ($STATE/server.log):"
	tail -n 20 "$STATE/server.log" >&2 || true
	stop
	exit 1
}

stop() {
	if running; then
		local pid
		pid=$(cat "$STATE/pid")
		kill "$pid"
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
		log "stopped pid $pid"
	fi
	[[ -n $STATE && $STATE != / ]] && rm -rf "$STATE"
}

case ${1:-} in
start) start ;;
stop) stop ;;
env)
	running || { log "not running; use: eval \"\$($0 start)\""; exit 1; }
	print_env
	;;
status)
	if running && healthy "$(current_port)"; then
		log "running on 127.0.0.1:$(current_port) (pid $(cat "$STATE/pid"))"
	else
		log "not running"
		exit 1
	fi
	;;
*)
	echo "usage: $0 start|stop|env|status" >&2
	exit 2
	;;
esac
