from benchmarks.image.run import main

main()
