from benchmarks.audio.run import main

main()
