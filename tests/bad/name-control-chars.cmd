printf '4096\nabc\n' >"$(printf 'bad\nskrull: forged line\033[2J.txt')"
skrull trace stats "$(printf 'bad\nskrull: forged line\033[2J.txt')"
