from contentpipe.cli import main

main()
