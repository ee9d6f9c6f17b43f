skrull trace stats
