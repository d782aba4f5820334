from inboxd.cli.main import app

app()
