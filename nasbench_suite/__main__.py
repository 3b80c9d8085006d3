from nasbench_suite.cli import main

raise SystemExit(main())
