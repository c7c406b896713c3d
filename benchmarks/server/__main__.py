from benchmarks.server.run import main

main()
