from confctl.cli import main

main()
