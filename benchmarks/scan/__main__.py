from benchmarks.scan.run import main

raise SystemExit(main())
