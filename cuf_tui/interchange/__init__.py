"""Getting data in and out: local files, `datasets` folders and Hub datasets, in known layouts."""
