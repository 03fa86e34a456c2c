# shellcheck shell=bash
# abuse.sh: shell side of abuse.py (misbehaving clients and upstreams), for
# the tests that provoke failures. Sourced after lib.sh; SEQ numbers the
# runs so that every output file is kept apart.

ABUSE=$TOP_SRCDIR/tests/integration/abuse.py

# Run a client from abuse.py in the foreground; its stdout goes to $AOUT.
abuse() {
	SEQ=$((SEQ + 1))
	AOUT=$T/abuse.$SEQ.out
	timeout -k 2 "$(tmo 60)" "$PY" "$ABUSE" --ca "$CERTS/ca.crt" \
	    --timeout "$(tmo 10)" "$@" >"$AOUT" 2>&1
}

# Start abuse.py in the background (output in $BG_OUT, pid in $BG_PID).
abuse_bg() {
	SEQ=$((SEQ + 1))
	BG_OUT=$T/abuse-bg.$SEQ.out
	closefds "$PY" "$ABUSE" --ca "$CERTS/ca.crt" --timeout "$(tmo 10)" \
	    --lifetime "$(tmo 300)" "$@" >"$BG_OUT" 2>&1 </dev/null &
	BG_PID=$!
	track "$BG_PID"
}

# Value of KEY=... in an abuse.py output (default: the last foreground one).
aval() {
	grep -oE "(^| )$1=[^ ]*" "${2:-$AOUT}" | tail -n 1 | cut -d= -f2-
}

# A publish and a subscribe, both through mqgate on PORT.
roundtrip() {
	local port=$1 topic msg got
	SEQ=$((SEQ + 1))
	topic=mqgate-test/$(basename "$0" .sh)/$$/$SEQ
	msg=rt-$$-$SEQ-$RANDOM
	pub "$port" "$topic" "$msg" -r -q 1 2>"$T/rt.$SEQ.err" || return 1
	got=$(sub "$port" "$topic" 2>>"$T/rt.$SEQ.err")
	[ "$got" = "$msg" ]
}
