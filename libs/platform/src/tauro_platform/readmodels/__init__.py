"""Pure read-model folds shared by the services that project them and the gateway that replays them."""
