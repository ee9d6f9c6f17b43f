skrull trace
