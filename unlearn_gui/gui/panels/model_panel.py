"""Model choice (built-in, folder, .gguf, recent) and its card; loading runs in the background."""
from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QVBoxLayout, QWidget)

from ...core.model import models
from .. import errors, settings
from ..warmup import gc_paused, import_run_modules
from ..workers import Job

BUILTIN = "default"


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit in ("B", "KB") else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def human_count(n: int) -> str:
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= div:
            return f"{n / div:.1f}{suffix}"
    return str(n)


def display_name(path: str) -> str:
    return f"Built-in: {models.BUILTIN_NAME}" if path == BUILTIN else f"{Path(path).name}  —  {path}"


class ModelPanel(QWidget):
    model_ready = Signal(object)  # ModelInfo
    loading_changed = Signal(bool)

    CARD = (("name", "Name"), ("architecture", "Architecture"), ("params", "Parameters"), ("shape", "Layers × hidden"),
            ("vocab", "Vocabulary"), ("dtype", "Stored dtype"), ("chat", "Chat template"), ("device", "Run device"),
            ("memory", "Memory needed"))

    def __init__(self, parent=None):
        super().__init__(parent)
        self.path = BUILTIN
        self.info: models.ModelInfo | None = None
        self._job: Job | None = None
        self._run = dict(lora=True, needs_ref=True, batch_size=4, seq_len=256, device="auto", method="dipo")
        box = QGroupBox("Model")
        v = QVBoxLayout(box)
        self.combo = QComboBox()
        self.combo.setToolTip("The built-in model or one you opened before")
        self.combo.activated.connect(self._on_combo_activated)
        v.addWidget(self.combo)
        row = QHBoxLayout()
        self.folder_button = QPushButton("Open folder…")
        self.folder_button.setToolTip("A Hugging Face model folder (config.json + safetensors)")
        self.folder_button.clicked.connect(self._on_folder_clicked)
        self.gguf_button = QPushButton("Open .gguf…")
        self.gguf_button.setToolTip("A GGUF file; converted once to float32 and cached")
        self.gguf_button.clicked.connect(self._on_gguf_clicked)
        row.addWidget(self.folder_button)
        row.addWidget(self.gguf_button)
        v.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.hide()
        self.status = QLabel()
        self.status.setObjectName("hint")
        self.status.setWordWrap(True)
        v.addWidget(self.progress)
        v.addWidget(self.status)
        card = QFormLayout()
        self.values: dict[str, QLabel] = {}
        for key, label in self.CARD:
            value = QLabel("—")
            value.setObjectName("cardValue")
            value.setWordWrap(True)
            self.values[key] = value
            card.addRow(label, value)
        self.values["memory"].setToolTip("A rough peak for the chosen method, LoRA or full, batch and max length: "
                                         "weights, reference copy, gradients, optimizer state and activations.")
        v.addLayout(card)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(box)
        layout.addStretch(1)
        self._fill_combo()

    # ---------------------------------------------------------------- API
    def is_loading(self) -> bool:
        return self._job is not None

    def is_ready(self) -> bool:
        return self.info is not None and self._job is None

    def load(self, path: str) -> None:
        """Resolve (converting a GGUF on first use) and describe the model in the background."""
        self.path = path or BUILTIN
        self.info = None
        self._fill_combo()
        for key in self.values:
            self.values[key].setText("—")
        self.progress.setValue(0)
        self.progress.show()
        self.status.setText("Loading…")
        job = Job(partial(_resolve_and_describe, self.path), "load model")
        job.progress.connect(self._on_job_progress)
        job.done.connect(self._on_job_done)
        job.failed.connect(self._on_job_failed)
        job.ended.connect(self._on_job_ended)
        self._job = job
        self.loading_changed.emit(True)
        job.start()

    def set_run_settings(self, **kw) -> None:
        self._run.update(kw)
        self._update_estimate()

    def set_enabled_for_run(self, enabled: bool) -> None:
        for w in (self.combo, self.folder_button, self.gguf_button):
            w.setEnabled(enabled)

    # ---------------------------------------------------------------- slots
    @Slot(object)
    def _on_job_progress(self, p) -> None:
        stage, message, fraction = p
        self.status.setText(message)
        if fraction is None:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 100)
            self.progress.setValue(int(fraction * 100))

    @Slot(object)
    def _on_job_done(self, info) -> None:
        self.info = info
        v = self.values
        v["name"].setText(info.name)
        v["architecture"].setText(f"{info.architecture} ({info.model_type})")
        v["params"].setText(f"{human_count(info.n_params)} ({info.n_params:,})")
        v["shape"].setText(f"{info.n_layers} × {info.hidden_size}")
        v["vocab"].setText(f"{info.vocab_size:,}")
        v["dtype"].setText(info.dtype)
        v["chat"].setText("yes" if info.has_chat_template else "no (Question:/Answer: format)")
        self.status.setText(f"Ready · {info.path}")
        self._update_estimate()
        if self.path != BUILTIN:
            settings.add_recent_model(self.path)
            self._fill_combo()
        self.model_ready.emit(info)

    @Slot(object)
    def _on_job_failed(self, failure) -> None:
        self.status.setText(f"Could not load: {failure.message}")
        errors.show_error(self, f"Cannot load the model: {failure.message}", failure.details)

    @Slot()
    def _on_job_ended(self) -> None:
        self._job = None
        self.progress.hide()
        self.loading_changed.emit(False)

    @Slot(int)
    def _on_combo_activated(self, index: int) -> None:
        path = self.combo.itemData(index)
        if path and (path != self.path or self.info is None) and self._job is None:
            self.load(path)

    @Slot()
    def _on_folder_clicked(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a model folder")
        if path:
            self.load(path)

    @Slot()
    def _on_gguf_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a GGUF model", "", "GGUF models (*.gguf);;All files (*)")
        if path:
            self.load(path)

    # ---------------------------------------------------------------- helpers
    def _fill_combo(self) -> None:
        self.combo.blockSignals(True)
        self.combo.clear()
        for path in [BUILTIN, *[p for p in settings.recent_models() if p != BUILTIN]]:
            self.combo.addItem(display_name(path), path)
        if self.combo.findData(self.path) < 0:
            self.combo.addItem(display_name(self.path), self.path)
        self.combo.setCurrentIndex(self.combo.findData(self.path))
        self.combo.blockSignals(False)

    def _update_estimate(self) -> None:
        r = self._run
        self.values["device"].setText(r["device"] if r["device"] != "auto" else _auto_device())
        if self.info is None:
            return
        est = models.estimate_memory_bytes(self.info, lora=r["lora"], needs_ref=r["needs_ref"],
                                           batch_size=r["batch_size"], seq_len=r["seq_len"])
        mode = "LoRA" if r["lora"] else "full fine-tuning" + (" + reference copy" if r["needs_ref"] else "")
        self.values["memory"].setText(f"≈ {human_bytes(est)}  ({r['method']}, {mode}, batch {r['batch_size']} × "
                                      f"{r['seq_len']} tokens)")


def _auto_device() -> str:
    try:
        return f"auto → {models.pick_device('auto')}"
    except Exception:  # noqa: BLE001 - a broken torch install should not break the card
        return "auto"


def _resolve_and_describe(path: str, progress) -> models.ModelInfo:
    """Job body (no Qt): may convert a GGUF (slow, first use only)."""
    with gc_paused():  # transformers' imports in describe() set off full collections (~100-180 ms GIL)
        model_dir = models.resolve_model_dir(path, lambda s, m, f: progress((s, m, f)))
        progress(("describe", "Reading the model config", 0.9))
        info = models.describe(model_dir)
        progress(("warmup", "Preparing the training code", 0.95))
        import_run_modules()
        try:
            models.prefetch_tokenizer(model_dir)  # parsed here, not on the run's thread (GIL: window stalls)
        except models.ModelError:
            pass  # the run reports a broken tokenizer with its own message
    return info
