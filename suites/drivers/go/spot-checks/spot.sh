#!/bin/sh
# spot.sh STATUS LOCATION METHOD [NAME:VALUE...]: serve a redirect (redirect_serve.py) and follow it
# with spot.go (http.Client's defaults); the server prints the requests it received.
dir=$(dirname "$0")
status=$1 location=$2 method=$3
shift 3
port_file=$(mktemp)
python3 "$dir/redirect_serve.py" "$status" "$location" > "$port_file" &
while [ ! -s "$port_file" ]; do sleep 0.1; done
go run "$dir/spot.go" "$method" "http://127.0.0.1:$(cat "$port_file")/a" "$@"
wait
rm -f "$port_file"
