skrull trace -h
