#!/bin/sh
# A redis-server for one test process: redis-test-server.sh PARENT_PID DIR [redis-server args...]
# Runs redis-server on loopback in DIR (no persistence) until this script is signalled or PARENT_PID
# exits, so a test that crashes leaves no server behind. The caller picks the port (--port N, or
# --port 0 --tls-port N) and waits for PING to answer.
parent=$1
dir=$2
shift 2
redis-server --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --daemonize no \
    --logfile "$dir/redis.log" "$@" &
server=$!
trap 'kill $server 2>/dev/null; wait $server; exit 0' TERM INT HUP
while kill -0 "$parent" 2>/dev/null && kill -0 $server 2>/dev/null; do
    sleep 0.5 &
    wait $!
done
kill $server 2>/dev/null
wait $server
