skrull compare --svg c.svg --paper; echo "exit $?"; test ! -e c.svg
