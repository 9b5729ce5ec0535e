from nemecys.cli import main

main()
