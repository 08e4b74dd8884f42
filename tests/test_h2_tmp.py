import pytest
@pytest.mark.django_db
def test_nav(client):
    r = client.get("/attack/navigator.json?q=certutil")
    body = b"".join(r.streaming_content)
    print(r.status_code, body[-300:])
