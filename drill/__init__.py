"""The failure drill (`make drill`): a scripted game day against the local emulators. See drill/README.md."""
