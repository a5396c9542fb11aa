from opensan.cli.main import app

app(prog_name="opensan")
