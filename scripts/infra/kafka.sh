#!/usr/bin/env bash
# Real Apache Kafka 3.9.1, single node in KRaft mode, no Docker.
#
# Usage: scripts/infra/kafka.sh start|stop|status|reset
#   TAURO_KAFKA_PORT            broker port        (default 19092)
#   TAURO_KAFKA_CONTROLLER_PORT controller port    (default 19093)
#   TAURO_KAFKA_RESET=1         wipe the data dir before `start`
#   TAURO_CACHE_DIR             jars + maven repo  (default <repo>/.cache)
#   TAURO_INFRA_DIR             data, log, PID     (default <repo>/.tauro/infra)
# The broker jars come from Maven Central (kafka-pom.xml) on first use and are cached.
set -euo pipefail

SERVICE_NAME=kafka
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_VERSION=3.9.1
PORT="${TAURO_KAFKA_PORT:-19092}"
CONTROLLER_PORT="${TAURO_KAFKA_CONTROLLER_PORT:-19093}"
LIBS="$CACHE_DIR/kafka-$KAFKA_VERSION/libs"
HOME_DIR="$INFRA_DIR/kafka"
DATA_DIR="$HOME_DIR/data"
PID_FILE="$HOME_DIR/kafka.pid"
LOG_FILE="$HOME_DIR/kafka.log"
PROPS="$HOME_DIR/server.properties"
LOG4J="$HOME_DIR/log4j.properties"
PATTERN="kafka.Kafka $PROPS"
START_TIMEOUT=60

kafka_java() { java -Xmx256m -Dlog4j.configuration="file:$LOG4J" -cp "$LIBS/*" "$@"; }

install_jars() {
    if [[ -f "$LIBS/.complete" ]]; then return 0; fi
    command -v mvn >/dev/null || die "maven (mvn) is required to fetch the Kafka jars"
    log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIBS (first time only)"
    local tmp="$LIBS.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp" "$HOME_DIR"
    mvn -q -B -Dstyle.color=never -Dmaven.repo.local="$CACHE_DIR/m2" \
        -f "$INFRA_SCRIPTS/kafka-pom.xml" dependency:copy-dependencies \
        -DoutputDirectory="$tmp" -DincludeScope=runtime >"$HOME_DIR/maven.log" 2>&1 \
        || { tail -n 30 "$HOME_DIR/maven.log" >&2; rm -rf "$tmp"; die "maven could not fetch the jars"; }
    rm -rf "$LIBS"
    mv "$tmp" "$LIBS"
    touch "$LIBS/.complete"
}

write_config() {
    mkdir -p "$DATA_DIR"
    cat >"$PROPS" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA_DIR
num.partitions=4
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
auto.create.topics.enable=true
EOF
    cat >"$LOG4J" <<'EOF'
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
# Keep the one-line "Kafka Server started" banner.
log4j.logger.kafka.server.KafkaRaftServer=INFO
EOF
}

format_storage() {
    if [[ -f "$DATA_DIR/meta.properties" ]]; then return 0; fi
    local cluster_id
    cluster_id="$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    log "formatting $DATA_DIR (cluster id $cluster_id)"
    kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$PROPS" >>"$LOG_FILE" 2>&1 \
        || { tail -n 20 "$LOG_FILE" >&2; die "storage format failed"; }
}

# Ready = the broker answers ApiVersions on its advertised listener and shows up
# in the metadata it serves (it is registered and unfenced).
broker_ready() {
    port_in_use "$PORT" || return 1
    timeout 20 java -Xmx128m -Dlog4j.configuration="file:$LOG4J" -cp "$LIBS/*" \
        kafka.admin.BrokerApiVersionsCommand --bootstrap-server "127.0.0.1:$PORT" 2>/dev/null \
        | grep -q "(id: 1 rack"
}

cmd_start() {
    if [[ "${TAURO_KAFKA_RESET:-0}" == 1 ]]; then cmd_reset; fi
    if pid_alive "$PID_FILE" "$PATTERN"; then
        log "already running (pid $(<"$PID_FILE")) on 127.0.0.1:$PORT"
        return 0
    fi
    rm -f "$PID_FILE"
    command -v java >/dev/null || die "java (17+) is required"
    local p
    for p in "$PORT" "$CONTROLLER_PORT"; do
        if port_in_use "$p"; then die "port $p is already in use by another process"; fi
    done
    install_jars
    write_config
    format_storage
    log "starting on 127.0.0.1:$PORT (log: $LOG_FILE)"
    # setsid: own session, so the broker outlives the calling shell or job.
    setsid java -Xmx512m -Dlog4j.configuration="file:$LOG4J" -cp "$LIBS/*" \
        kafka.Kafka "$PROPS" >>"$LOG_FILE" 2>&1 </dev/null 9>&- &
    echo $! >"$PID_FILE"
    local t0=$SECONDS
    wait_ready "$START_TIMEOUT" "$PID_FILE" "$PATTERN" "$LOG_FILE" broker_ready \
        || { cmd_stop >/dev/null 2>&1; die "Kafka did not become ready"; }
    log "ready in $((SECONDS - t0))s (pid $(<"$PID_FILE")): KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$PORT"
}

cmd_stop() { stop_pid "$PID_FILE" "$PATTERN"; }

cmd_status() { report_status "$PID_FILE" "$PATTERN" "127.0.0.1:$PORT"; }

cmd_reset() {
    if pid_alive "$PID_FILE" "$PATTERN"; then die "running; stop it before reset"; fi
    log "wiping $DATA_DIR"
    rm -rf "$DATA_DIR"
}

case "${1:-}" in
    start) take_lock "$HOME_DIR" && cmd_start ;;
    stop) take_lock "$HOME_DIR" && cmd_stop ;;
    status) cmd_status ;;
    reset) take_lock "$HOME_DIR" && cmd_reset ;;
    *) echo "usage: $0 start|stop|status|reset" >&2; exit 2 ;;
esac
