skrull plan --check /proc/self/mem
