skrull trace stats traces/no-such-trace.txt
