skrull help trace
