"""Task API: the tutorials' example service. Tasks live in a JSON file under
DATA_DIR so that a volume keeps them across containers."""
import json
import os
import threading
from typing import List, Optional

from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel

DATA_DIR = os.environ.get("DATA_DIR", "/data")
DB = os.path.join(DATA_DIR, "tasks.json")
VERSION = os.environ.get("APP_VERSION", "dev")

app = FastAPI(title="Task API", version=VERSION)
_lock = threading.Lock()


class TaskIn(BaseModel):
    title: str
    done: bool = False


class Task(TaskIn):
    id: int


def _load() -> List[dict]:
    try:
        with open(DB) as f:
            return json.load(f)
    except FileNotFoundError:
        return []


def _save(tasks: List[dict]) -> None:
    os.makedirs(DATA_DIR, exist_ok=True)
    tmp = DB + ".tmp"
    with open(tmp, "w") as f:
        json.dump(tasks, f)
    os.replace(tmp, DB)


@app.get("/health")
def health() -> dict:
    return {"status": "ok", "version": VERSION}


@app.get("/tasks", response_model=List[Task])
def list_tasks(done: Optional[bool] = None) -> List[dict]:
    tasks = _load()
    return [t for t in tasks if done is None or t["done"] == done]


@app.post("/tasks", response_model=Task, status_code=201)
def create_task(task: TaskIn) -> dict:
    with _lock:
        tasks = _load()
        new = {"id": max([t["id"] for t in tasks], default=0) + 1, **task.dict()}
        tasks.append(new)
        _save(tasks)
    print(f"created task {new['id']}: {new['title']}", flush=True)
    return new


@app.get("/tasks/{task_id}", response_model=Task)
def get_task(task_id: int) -> dict:
    for t in _load():
        if t["id"] == task_id:
            return t
    raise HTTPException(status_code=404, detail="task not found")


@app.put("/tasks/{task_id}", response_model=Task)
def update_task(task_id: int, task: TaskIn) -> dict:
    with _lock:
        tasks = _load()
        for t in tasks:
            if t["id"] == task_id:
                t.update(task.dict())
                _save(tasks)
                return t
    raise HTTPException(status_code=404, detail="task not found")


@app.delete("/tasks/{task_id}", status_code=204)
def delete_task(task_id: int) -> Response:
    with _lock:
        tasks = _load()
        rest = [t for t in tasks if t["id"] != task_id]
        if len(rest) == len(tasks):
            raise HTTPException(status_code=404, detail="task not found")
        _save(rest)
    return Response(status_code=204)
