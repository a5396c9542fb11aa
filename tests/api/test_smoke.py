from conftest import Api, array_state


def test_fresh_array_answers_every_documented_get(admin: Api) -> None:
    state = array_state(admin)
    assert state["pools"] and state["volumes"] and state["targets"] and state["mappings"]
