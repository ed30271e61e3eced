import BPFKitCommands

BPFKitCommand.main()
