from benchmarks.snapshots.run import main

main()
