s/Read-only file system/Permission denied/
