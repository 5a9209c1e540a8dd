"""The Gradio app: tabs Search / Mesh recovery / Instruction / Dataset / Status over a
:class:`~ui.backend.UIBackend`.

    app = build_app(UIBackend("indexes/script"))
    launch(app)                       # http://127.0.0.1:7860

Callbacks (:class:`Callbacks`) only translate between widgets and backend calls; every action has
a named API endpoint (``/search``, ``/body``, ``/mesh``, ``/instruct``, ``/explore``,
``/status``) so ``gradio_client`` can call it. Bad input becomes a ``gr.Error`` with the backend's
message as plain text (short, without the server's folders), never a stack trace. Files come in only as uploads Gradio received and
checked; a path a client names is refused.
"""

from __future__ import annotations

import functools
import logging
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from ui.backend import ExplorerPage, PoseInput, ResultCard, UIBackend

log = logging.getLogger(__name__)

TARGETS = ("pose", "image", "text")
SPLITS = ["any", "train", "val", "test"]
MAX_FILE_SIZE = "10mb"
MAX_MESSAGE_CHARS = 400
POSE_FILE_TYPES = [".npz", ".npy", ".json"]
Gallery = list[tuple[str, str]]
Upload = dict[str, Any] | None  # a FileData payload (events with uploads run with preprocess=False)


def friendly(fn: Callable) -> Callable:
    """Turn the backend's errors into ``gr.Error`` messages; anything unexpected into a short
    message (the details go to the server log, not to the client)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except (ValueError, FileNotFoundError, KeyError) as exc:
            raise gr.Error(client_message(str(exc).strip("'\"")), print_exception=False) from None
        except Exception:
            log.exception("UI callback %s failed", fn.__name__)
            raise gr.Error("Something went wrong on the server; its log has the details.",
                           print_exception=False) from None

    return wrapper


def _server_folders() -> list[str]:
    """Folders whose paths a client must not see: Gradio's uploads, the temporary folder."""
    roots = {gr.utils.get_upload_folder(), tempfile.gettempdir()}
    roots |= {str(Path(r).resolve()) for r in roots}
    return sorted(roots, key=len, reverse=True)


def client_message(text: str) -> str:
    """A backend message for the client: plain text, any path under a server folder cut to its
    file name, at most ``MAX_MESSAGE_CHARS`` characters.

    Gradio renders an error message as (sanitised) HTML, and API clients get it as it is, so
    entities (``&#x27;``) would show there verbatim; instead ``<`` and ``>`` become the look-alike
    angle quotes, so echoed input is no markup anywhere and quotes stay quotes."""
    for root in _server_folders():
        text = re.sub(re.escape(root.rstrip("/")) + r"/[^\s'\",]*", lambda m: Path(m.group(0)).name, text)
    text = " ".join(text.split()).replace("<", "\u2039").replace(">", "\u203a")
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 3] + "..."


def uploaded(payload: dict[str, Any] | str | None) -> str | None:
    """The server path of an upload (a FileData payload Gradio received and checked), checked
    again to lie in Gradio's upload folder: the backend will open it, so a second lock on the door."""
    if not payload:
        return None
    path = payload.get("path") if isinstance(payload, dict) else payload
    if not isinstance(path, str) or not path:
        raise gr.Error("The upload did not arrive; please upload the file again.", print_exception=False)
    real = Path(path).resolve()
    root = Path(gr.utils.get_upload_folder()).resolve()
    if root not in real.parents:
        raise gr.Error("Only files uploaded through this page are accepted.", print_exception=False)
    return str(real)


def uploaded_bytes(payload: dict[str, Any] | str | None) -> bytes | None:
    """The bytes of an upload (see :func:`uploaded`). Image uploads come this way, undecoded, so
    a file that is not an image gets the backend's clear message rather than a decoder crash."""
    path = uploaded(payload)
    return Path(path).read_bytes() if path else None


def gallery(cards: list[ResultCard]) -> Gallery:
    return [(str(c.image), c.label) for c in cards]


class Callbacks:
    """The app's event handlers: widget values in, backend call, widget values out."""

    def __init__(self, backend: UIBackend) -> None:
        self.backend = backend

    @friendly
    def search(self, text: str | None, image: Upload, pose_id: str | None, pose_file: Upload,
               target: str, k: float, split: str | None, caption: str | None
               ) -> tuple[Gallery, list[dict[str, Any]], list[str]]:
        photo = uploaded_bytes(image)
        cards = self.backend.search(text=text, image=photo, pose_id=pose_id,
                                    pose_file=uploaded(pose_file), target=target, k=k, split=split,
                                    caption_contains=caption)
        for note in self.backend.photo_notes(photo):
            gr.Info(note[0].upper() + note[1:] + ".")
        return gallery(cards), [c.to_dict() for c in cards], [c.id for c in cards]

    @friendly
    def select(self, ids: list[str], evt: gr.SelectData) -> tuple[str, str]:
        """A gallery click: the chosen id and its body."""
        if not ids or evt.index is None or not 0 <= int(evt.index) < len(ids):
            raise ValueError("choose a result first")
        item = ids[int(evt.index)]
        return item, str(self.backend.body_file(item))

    @friendly
    def body(self, item_id: str | None) -> str:
        return str(self.backend.body_file(item_id or ""))

    @friendly
    def search_from_pose(self, item_id: str | None, target: str, k: float, split: str | None, caption: str | None
                         ) -> tuple[str, str, None, Gallery, list[dict[str, Any]], list[str]]:
        """Search with the selected result's pose alone (clears the text and image)."""
        if not (item_id or "").strip():
            raise ValueError("choose a result first")
        g, table, ids = self.search(None, None, item_id, None, target, k, split, caption)
        return item_id, "", None, g, table, ids  # type: ignore[return-value]

    @friendly
    def use_as(self, item_id: str | None) -> tuple[str, Any]:
        """A result or dataset item as pose A or B of the Instruction tab: the id is checked, then
        that tab opens with it filled in."""
        item = (item_id or "").strip()
        if not item:
            raise ValueError("choose a result first")
        self.backend.pose_of(item)  # an unknown id gets its message now, not at "How do I get from A to B?"
        return item, gr.Tabs(selected="instruction")

    @friendly
    def mesh(self, image: Upload, text: str | None) -> tuple[str, str, str]:
        out = self.backend.recover_mesh(image=uploaded_bytes(image), text=text)
        return str(out.mesh), str(out.params), out.summary

    @friendly
    def instruct(self, a_id: str | None, a_file: Upload, a_image: Upload,
                 b_id: str | None, b_file: Upload, b_image: Upload) -> tuple[str, str | None, str | None]:
        out = self.backend.instruct(PoseInput(a_id, uploaded(a_file), uploaded_bytes(a_image)),
                                    PoseInput(b_id, uploaded(b_file), uploaded_bytes(b_image)))
        return out.text, (str(out.body_a) if out.body_a else None), (str(out.body_b) if out.body_b else None)

    @friendly
    def explore(self, page: float, split: str | None, caption: str | None) -> tuple[Gallery, str, list[str]]:
        result: ExplorerPage = self.backend.dataset_page(page=page, split=split, caption_contains=caption)
        note = f"page {result.page} of {result.pages} · {result.total} matching items"
        return [(str(c.image), f"{c.id} · {c.caption}") for c in result.items], note, [c.id for c in result.items]

    @friendly
    def status(self) -> dict[str, Any]:
        return self.backend.status()


# ---------------------------------------------------------------------------------------- tabs
def _head_note(loaded: bool, what: str, flag: str) -> None:
    if not loaded:
        gr.Markdown(f"⚠️ **{what} is not available** in this session: start the UI with `{flag} RUN`.",
                    elem_classes=["head-missing"])


def _use_buttons(tab: str) -> tuple[gr.Button, gr.Button]:
    """"Use as pose A / B" (wired in :func:`build_app`, which knows the Instruction tab)."""
    return (gr.Button("Use as pose A", size="sm", elem_id=f"{tab}-use-a"),
            gr.Button("Use as pose B", size="sm", elem_id=f"{tab}-use-b"))


Picker = tuple[gr.Textbox, gr.Button, gr.Button]  # a tab's selected id and its "use as pose A/B" buttons


def _search_tab(cb: Callbacks, targets: tuple[str, ...], search_limit: int) -> Picker:
    with gr.Row():
        with gr.Column(scale=2):
            text = gr.Textbox(label="Describe the pose", placeholder="the person kneels with both arms raised",
                              elem_id="query-text")
            with gr.Accordion("Image or pose", open=False):
                image = gr.Image(label="Image of a person", type="filepath",
                                   sources=["upload", "clipboard"], height=220)
                pose_id = gr.Textbox(label="Pose: a result or dataset id", elem_id="pose-id")
                pose_file = gr.File(label="Pose: a .npz (SMPL-X or ours) / .npy / .json file", file_types=POSE_FILE_TYPES,
                                    type="filepath")
            with gr.Row():
                target = gr.Radio(list(targets), value="pose" if "pose" in targets else targets[0], label="Search in")
                k = gr.Slider(1, 50, value=12, step=1, label="Results")
            with gr.Row():
                split = gr.Dropdown(SPLITS, value="any", label="Split")
                caption = gr.Textbox(label="Caption contains", placeholder="knee")
            button = gr.Button("Search", variant="primary", elem_id="search-button")
        with gr.Column(scale=3):
            results = gr.Gallery(label="Results", columns=4, height=520, object_fit="contain", allow_preview=False,
                                 elem_id="results")
            with gr.Row():
                selected = gr.Textbox(label="Id (click a result, or type one)", elem_id="selected-id")
                show_body = gr.Button("Show its 3D body")
                from_pose = gr.Button("Search from this pose")
            with gr.Row():
                use_a, use_b = _use_buttons("search")
            body = gr.Model3D(label="3D body", height=320, clear_color=(1, 1, 1, 1), elem_id="body")
            with gr.Accordion("Details (JSON)", open=False):
                table = gr.JSON(label="Results")
    ids = gr.State([])
    query = [text, image, pose_id, pose_file, target, k, split, caption]
    outputs = [results, table, ids]
    # preprocess=False: uploads reach the callback as checked FileData, decoded by the backend
    button.click(cb.search, query, outputs, api_name="search", concurrency_limit=search_limit, preprocess=False)
    text.submit(cb.search, query, outputs, api_visibility="private", concurrency_limit=search_limit,
                preprocess=False)
    results.select(cb.select, [ids], [selected, body], api_visibility="private")
    show_body.click(cb.body, [selected], [body], api_name="body")
    from_pose.click(cb.search_from_pose, [selected, target, k, split, caption],
                    [pose_id, text, image, results, table, ids], api_visibility="private",
                    concurrency_limit=search_limit)
    return selected, use_a, use_b


def _mesh_tab(cb: Callbacks, loaded: bool) -> None:
    _head_note(loaded, "Mesh recovery", "--hps")
    with gr.Row():
        with gr.Column():
            image = gr.Image(label="Image of one person (cropped around them)", type="filepath",
                               sources=["upload", "clipboard"])
            text = gr.Textbox(label="Optional description of the pose")
            button = gr.Button("Recover the body", variant="primary", interactive=loaded)
        with gr.Column():
            mesh = gr.Model3D(label="Recovered body", height=420, clear_color=(1, 1, 1, 1))
            params = gr.File(label="Parameters (.npz: pose, shape, joints; loads back as a query pose)")
            summary = gr.Markdown()
    button.click(cb.mesh, [image, text], [mesh, params, summary], api_name="mesh", concurrency_limit=2,
                 preprocess=False)


def _instruction_tab(cb: Callbacks, loaded: bool) -> tuple[gr.Textbox, gr.Textbox]:
    _head_note(loaded, "Instructions", "--instructions")
    gr.Markdown("Give each pose as **one** of: an id (from the results or the dataset: *Use as pose A/B* "
                "there fills it in), a pose file, an image.")
    sides = []
    with gr.Row():
        for name in ("A", "B"):
            with gr.Column():
                pid = gr.Textbox(label=f"Pose {name}: id", elem_id=f"instruct-{name.lower()}-id")
                pfile = gr.File(label=f"Pose {name}: .npz / .npy / .json", file_types=POSE_FILE_TYPES, type="filepath")
                pimage = gr.Image(label=f"Pose {name}: image", type="filepath",
                                    sources=["upload", "clipboard"], height=200)
                sides += [pid, pfile, pimage]
    button = gr.Button("How do I get from A to B?", variant="primary", interactive=loaded)
    text = gr.Textbox(label="Instruction", interactive=False)
    with gr.Row():
        body_a = gr.Model3D(label="Body A", height=300, clear_color=(1, 1, 1, 1))
        body_b = gr.Model3D(label="Body B", height=300, clear_color=(1, 1, 1, 1))
    button.click(cb.instruct, sides, [text, body_a, body_b], api_name="instruct", concurrency_limit=2,
                 preprocess=False)
    return sides[0], sides[3]


def _dataset_tab(cb: Callbacks, has_dataset: bool) -> Picker:
    if not has_dataset:
        gr.Markdown("No dataset is known for this index: showing the index's own rows (start with `--data DIR` "
                    "to browse a dataset).")
    with gr.Row():
        split = gr.Dropdown(SPLITS, value="any", label="Split")
        caption = gr.Textbox(label="Caption contains")
        page = gr.Number(value=1, minimum=1, precision=0, label="Page")
        button = gr.Button("Show", variant="primary")
    note = gr.Markdown()
    with gr.Row():
        items = gr.Gallery(label="Dataset", columns=5, height=640, object_fit="contain", allow_preview=False,
                           scale=3)
        with gr.Column(scale=2):
            selected = gr.Textbox(label="Id (click an item)", interactive=False)
            with gr.Row():
                use_a, use_b = _use_buttons("search")
            body = gr.Model3D(label="3D body", height=400, clear_color=(1, 1, 1, 1))
    ids = gr.State([])
    button.click(cb.explore, [page, split, caption], [items, note, ids], api_name="explore")
    items.select(cb.select, [ids], [selected, body], api_visibility="private")
    return selected, use_a, use_b


def _status_tab(cb: Callbacks, app: gr.Blocks) -> None:
    status = gr.JSON(label="Status")
    refresh = gr.Button("Refresh")
    refresh.click(cb.status, None, status, api_name="status")
    app.load(cb.status, None, status, api_visibility="private")


def build_app(backend: UIBackend, search_concurrency: int = 32, default_concurrency: int = 4,
              max_queue: int = 256) -> gr.Blocks:
    """The Blocks app over ``backend`` (queued: ``default_concurrency`` jobs per event, more for
    search, whose text queries the backend batches)."""
    cb = Callbacks(backend)
    st = backend.status()
    with gr.Blocks(title="pose-search") as app:
        gr.Markdown(f"# pose-search\nSearch {st['rows']} poses by text, image or pose "
                    f"({', '.join(st['modalities'])}).")
        with gr.Tabs() as tabs:
            with gr.Tab("Search", id="search"):
                pickers = [_search_tab(cb, tuple(st["modalities"]), search_concurrency)]
            with gr.Tab("Mesh recovery", id="mesh"):
                _mesh_tab(cb, backend.hps is not None)
            with gr.Tab("Instruction", id="instruction"):
                a_id, b_id = _instruction_tab(cb, backend.instructions is not None)
            with gr.Tab("Dataset", id="dataset"):
                pickers.append(_dataset_tab(cb, backend.dataset is not None))
            with gr.Tab("Status", id="status"):
                _status_tab(cb, app)
        for selected, use_a, use_b in pickers:
            use_a.click(cb.use_as, [selected], [a_id, tabs], api_visibility="private")
            use_b.click(cb.use_as, [selected], [b_id, tabs], api_visibility="private")
    app.queue(default_concurrency_limit=default_concurrency, max_size=max_queue)
    return app


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, share: bool = False,
           auth: tuple[str, str] | None = None, max_file_size: str | int = MAX_FILE_SIZE,
           prevent_thread_lock: bool = False, quiet: bool = False, allowed_paths: list[str] | None = None) -> str:
    """Serve ``app``; prints and returns its local URL (blocks unless ``prevent_thread_lock``)."""
    # show_error: our callbacks only raise gr.Error (see `friendly`), so what it adds is the message
    # of Gradio's own checks of a request (not a number, not one of the choices, a malformed file)
    _, url, share_url = app.launch(server_name=host, server_port=port, share=share, auth=auth,
                                   max_file_size=max_file_size, prevent_thread_lock=True, quiet=True,
                                   show_error=True, allowed_paths=allowed_paths, footer_links=["api"],
                                   ssr_mode=False)
    if not quiet:
        print(f"pose-search UI: {url}" + (f"  (public: {share_url})" if share_url else ""), flush=True)
    if not prevent_thread_lock:
        app.block_thread()
    return url
