from benchmarks.lyrics.run import main

raise SystemExit(main())
