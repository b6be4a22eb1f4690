#!/bin/sh
# spot.sh 'RESPONSE' [--watch-close]: serve RESPONSE once (serve.py), fetch it with Spot.java and
# print what java.net.http.HttpClient made of it. With --watch-close the server keeps the
# connection and reports whether the client closes it (the client stays referenced for 5 s).
dir=$(dirname "$0")
port_file=$(mktemp)
python3 "$dir/serve.py" "$@" > "$port_file" &
while [ ! -s "$port_file" ]; do sleep 0.1; done
java "$dir/Spot.java" "http://127.0.0.1:$(cat "$port_file")/" ${2:+5}
wait
rm -f "$port_file"
