skrull trace describe x
