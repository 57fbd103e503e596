"""A CSV without a header keeps every row (columns f0, f1, ...); ``header`` can force either way."""

from __future__ import annotations

import httpx

DATA = "5.1,3.5,1.4,0.2,0\n6.7,3.0,5.2,2.3,2\n5.9,3.0,4.2,1.5,1\n"


async def test_a_headerless_csv_keeps_its_first_row(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/datasets", files={"file": ("raw.csv", DATA.encode())})
    assert r.status_code == 201, r.text
    info = r.json()
    assert info["num_rows"] == 3 and [c["name"] for c in info["columns"]] == ["f0", "f1", "f2", "f3", "f4"]
    body = (await client.get(f"/api/v1/datasets/{info['id']}/download")).text
    assert body.splitlines()[1].startswith("5.1,3.5")


async def test_header_detected_or_forced(client: httpx.AsyncClient) -> None:
    named = "a,b,c,d,target\n" + DATA
    r = await client.post("/api/v1/datasets", files={"file": ("named.csv", named.encode())})
    assert r.json()["num_rows"] == 3 and r.json()["columns"][0]["name"] == "a"
    r = await client.post("/api/v1/datasets", files={"file": ("raw.csv", DATA.encode())},
                          data={"header": "true"})
    assert r.json()["num_rows"] == 2 and r.json()["columns"][0]["name"] == "5.1"  # as asked
    words = "x,y\nred,blue\n"
    r = await client.post("/api/v1/datasets", files={"file": ("w.csv", words.encode())},
                          data={"header": "false"})
    assert r.json()["num_rows"] == 2 and [c["name"] for c in r.json()["columns"]] == ["f0", "f1"]
