from fashrec.cli import main

main()
