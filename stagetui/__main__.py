from stagetui.cli.main import main

raise SystemExit(main())
