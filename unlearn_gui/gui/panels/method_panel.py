"""Method picker (DiPO first), presets, and every hyperparameter with a one-sentence tooltip that
also gives the paper's value. Builds the ``MethodConfig`` and the run-level options."""
from __future__ import annotations

import math

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QRadioButton, QVBoxLayout, QWidget)

from ...core.config import MethodConfig, defaults
from ...core.methods import REGISTRY
from .hyperparams import SPECS, changed_signal, get_value, make_widget, set_value, tooltip

LOSS_PARAMS = ("topk", "lam", "beta", "reduction", "delta", "gamma", "alpha", "retain_loss")
TRAIN_PARAMS = ("lr", "batch_size", "grad_accum", "warmup_steps", "weight_decay", "max_grad_norm", "max_length", "seed")
LORA_PARAMS = ("lora_r", "lora_alpha", "lora_dropout")
MONITOR_PARAMS = ("probe_every", "probe_budget", "probe_samples_every", "sample_every", "max_new_tokens", "stop_forget_below",
                  "stop_retain_above")
STOP_PARAMS = ("stop_forget_below", "stop_retain_above")  # 0 shows "off" and means None (no rule)
PRESETS = ("Demo preset", "Paper values", "Quick check (5 steps)")
OTHER_LABELS = {"forget": "Forget set", "retain": "Retain set", "probes": "Probe set", "path": "Model",
                "device": "Device", "dtype": "Precision", "name": "Method", "log_every": "Log every"}


def gui_defaults() -> dict:
    """What the Setup widgets start at: the core's "interactive" defaults (``config.defaults``) for
    the fields that have a widget and no method preset; a stop threshold's None ("off") is 0."""
    out = {}
    for name, value in defaults("interactive").items():
        if name in SPECS and (value is not None or name in STOP_PARAMS):
            out[name] = 0.0 if value is None else value
    return out


def field_label(field: str) -> str:
    """'method.lr' -> 'Learning rate' (the label the user sees next to the widget)."""
    key = field.rsplit(".", 1)[-1]
    return SPECS[key].label if key in SPECS else OTHER_LABELS.get(key, key)


def available_devices() -> list[tuple[str, str]]:
    import torch

    out = [("auto", "Auto (best available)"), ("cpu", "CPU")]
    if torch.cuda.is_available():
        out.append(("cuda", f"CUDA ({torch.cuda.get_device_name(0)})"))
    if hasattr(torch.backends, "mps") and torch.backends.mps.is_available():
        out.append(("mps", "MPS (Apple GPU)"))
    return out


class MethodPanel(QWidget):
    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.widgets: dict[str, QWidget] = {}
        self._labels: dict[str, QLabel] = {}
        self._n_forget = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._build_method_box())
        self.loss_box, self.loss_form = self._form_box("Loss", LOSS_PARAMS)
        self.no_params = QLabel("This method has no loss hyperparameters.")
        self.no_params.setObjectName("hint")
        self.loss_form.addRow(self.no_params)
        layout.addWidget(self.loss_box)
        train_box, self.train_form = self._form_box("Training", ())
        self._add_steps_row()
        for name in TRAIN_PARAMS:
            self._add_row(self.train_form, name)
        layout.addWidget(train_box)
        layout.addWidget(self._build_adapter_box())
        layout.addWidget(self._build_hardware_box())
        monitor_box, _ = self._form_box("Monitoring", MONITOR_PARAMS)
        layout.addWidget(monitor_box)
        layout.addStretch(1)
        for name in STOP_PARAMS:
            self.widgets[name].setSpecialValueText("off")
        for name, value in gui_defaults().items():
            set_value(self.widgets[name], value)
        for w in self.widgets.values():
            changed_signal(w).connect(self._on_value_changed)
        self._on_method_changed()

    # ---------------------------------------------------------------- building
    def _build_method_box(self) -> QGroupBox:
        box = QGroupBox("Method")
        form = QFormLayout(box)
        self.method_combo = QComboBox()
        for m in REGISTRY.values():
            self.method_combo.addItem(m.title, m.name)
        self.method_combo.setToolTip("The unlearning loss. DiPO is the default; see METHODS.md for each formula.")
        self.method_combo.currentIndexChanged.connect(self._on_method_changed)
        self.citation = QLabel()
        self.citation.setObjectName("hint")
        self.citation.setWordWrap(True)
        self.preset_combo = QComboBox()
        self.preset_combo.addItems(PRESETS)
        self.preset_combo.setToolTip("Demo preset: tuned to work on the built-in demo. Paper values: the source "
                                     "paper's settings where it states them. Quick check: the preset with 5 steps.")
        self.preset_combo.activated.connect(self._on_preset_activated)
        form.addRow("Method", self.method_combo)
        form.addRow("", self.citation)
        form.addRow("Preset", self.preset_combo)
        return box

    def _form_box(self, title: str, names) -> tuple[QGroupBox, QFormLayout]:
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for name in names:
            self._add_row(form, name)
        return box, form

    def _add_row(self, form: QFormLayout, name: str) -> None:
        w = make_widget(SPECS[name])
        label = QLabel(SPECS[name].label)
        self.widgets[name], self._labels[name] = w, label
        form.addRow(label, w)

    def _add_steps_row(self) -> None:
        steps = make_widget(SPECS["steps"])
        self.epochs = QDoubleSpinBox()
        self.epochs.setRange(0.01, 10000)
        self.epochs.setDecimals(2)
        self.epochs.setSuffix(" epochs")
        self.epochs.setToolTip("The same length counted in passes over the forget set; editing it sets the steps.")
        self.epochs.valueChanged.connect(self._on_epochs_changed)
        row = QHBoxLayout()
        row.addWidget(steps, 1)
        row.addWidget(QLabel("="))
        row.addWidget(self.epochs, 1)
        label = QLabel(SPECS["steps"].label)
        self.widgets["steps"], self._labels["steps"] = steps, label
        self.train_form.addRow(label, row)

    def _build_adapter_box(self) -> QGroupBox:
        box, form = self._form_box("Adapter", ())
        self.lora_radio = QRadioButton("LoRA adapters")
        self.full_radio = QRadioButton("Full fine-tuning")
        self.lora_radio.setToolTip("Train small low-rank adapters: little memory, the original weights stay untouched "
                                   "and serve as the reference model without a copy.")
        self.full_radio.setToolTip("Train every weight: more memory (gradients, optimizer state and, for methods "
                                   "with a reference, a frozen copy).")
        group = QButtonGroup(self)
        group.addButton(self.lora_radio)
        group.addButton(self.full_radio)
        self.lora_radio.setChecked(True)
        self.lora_radio.toggled.connect(self._on_lora_toggled)
        row = QHBoxLayout()
        row.addWidget(self.lora_radio)
        row.addWidget(self.full_radio)
        row.addStretch(1)
        form.addRow(row)
        for name in LORA_PARAMS:
            self._add_row(form, name)
        return box

    def _build_hardware_box(self) -> QGroupBox:
        box, form = self._form_box("Hardware", ())
        self.device_combo = QComboBox()
        for value, text in available_devices():
            self.device_combo.addItem(text, value)
        self.device_combo.setToolTip("Where the run computes: the GPU when present, else the CPU.")
        self.dtype_combo = QComboBox()
        for value in ("auto", "float32", "bfloat16", "float16"):
            self.dtype_combo.addItem(value, value)
        self.dtype_combo.setToolTip("Weight precision: auto = float32 on CPU, bfloat16 on GPUs that support it.")
        self.device_combo.currentIndexChanged.connect(self._on_value_changed)
        self.dtype_combo.currentIndexChanged.connect(self._on_value_changed)
        form.addRow("Device", self.device_combo)
        form.addRow("Precision", self.dtype_combo)
        return box

    # ---------------------------------------------------------------- API
    def method_name(self) -> str:
        return self.method_combo.currentData()

    def select_method(self, name: str) -> None:
        self.method_combo.setCurrentIndex(self.method_combo.findData(name))

    def lora(self) -> bool:
        return self.lora_radio.isChecked()

    def set_lora(self, on: bool) -> None:
        (self.lora_radio if on else self.full_radio).setChecked(True)

    def value(self, name: str):
        return get_value(self.widgets[name])

    def set_values(self, **values) -> None:
        for name, v in values.items():
            set_value(self.widgets[name], v)

    def method_config(self) -> MethodConfig:
        """Visible loss fields from the widgets; hidden ones stay None (= the method's preset)."""
        method = REGISTRY[self.method_name()]
        loss = {n: (get_value(self.widgets[n]) if n in method.params else None) for n in LOSS_PARAMS}
        train = {n: get_value(self.widgets[n]) for n in ("lr", "steps", "batch_size", "grad_accum", "warmup_steps",
                                                         "weight_decay", "max_grad_norm")}
        lora = {n: get_value(self.widgets[n]) for n in LORA_PARAMS}
        return MethodConfig(name=method.name, lora=self.lora(), **loss, **train, **lora)

    def run_options(self) -> dict:
        return {"seed": self.value("seed"), "probe_every": self.value("probe_every"),
                "probe_budget": self.value("probe_budget"), "probe_samples_every": self.value("probe_samples_every"),
                "sample_every": self.value("sample_every"), "max_new_tokens": self.value("max_new_tokens"),
                "max_length": self.value("max_length"), "device": self.device_combo.currentData(),
                "dtype": self.dtype_combo.currentData(),
                **{n: (self.value(n) or None) for n in STOP_PARAMS}}

    def needs_reference(self) -> bool:
        method = REGISTRY[self.method_name()]
        retain = self.value("retain_loss") if "retain_loss" in method.params else method.preset.get("retain_loss")
        return method.uses_reference(retain)

    def set_forget_count(self, n: int) -> None:
        self._n_forget = n
        self._sync_epochs()

    def apply_preset(self, which: str = PRESETS[0]) -> None:
        method = REGISTRY[self.method_name()]
        values = dict(method.preset)
        if which == PRESETS[1]:
            values.update(method.paper)
        elif which == PRESETS[2]:
            values["steps"] = 5
        for name, v in values.items():
            if name in self.widgets and v is not None:
                set_value(self.widgets[name], v)
        self._sync_epochs()

    def mark_invalid(self, fields) -> None:
        keys = {f.rsplit(".", 1)[-1] for f in fields}
        for name, w in self.widgets.items():
            w.setProperty("invalid", name in keys)
            w.style().unpolish(w)
            w.style().polish(w)

    # ---------------------------------------------------------------- slots
    @Slot()
    def _on_method_changed(self, *args) -> None:
        method = REGISTRY[self.method_name()]
        self.citation.setText(method.citation)
        for name in LOSS_PARAMS:
            self.loss_form.setRowVisible(self.widgets[name], name in method.params)
        self.loss_form.setRowVisible(self.no_params, not method.params)
        for name, w in self.widgets.items():
            tip = tooltip(SPECS[name], method.paper, method.preset)
            w.setToolTip(tip)
            self._labels[name].setToolTip(tip)
        self.apply_preset(PRESETS[0])
        self.preset_combo.setCurrentIndex(0)
        self.changed.emit()

    @Slot(int)
    def _on_preset_activated(self, index: int) -> None:
        self.apply_preset(PRESETS[index])

    @Slot(bool)
    def _on_lora_toggled(self, on: bool) -> None:
        for name in LORA_PARAMS:
            self.widgets[name].setEnabled(on)
        self.changed.emit()

    @Slot()
    def _on_value_changed(self, *args) -> None:
        self._sync_epochs()
        self.changed.emit()

    @Slot(float)
    def _on_epochs_changed(self, epochs: float) -> None:
        per_step = self.value("batch_size") * self.value("grad_accum")
        if self._n_forget and self.epochs.hasFocus():
            self.widgets["steps"].setValue(max(1, math.ceil(epochs * self._n_forget / per_step)))

    def _sync_epochs(self) -> None:
        per_step = self.value("batch_size") * self.value("grad_accum")
        self.epochs.setEnabled(self._n_forget > 0)
        if self._n_forget and not self.epochs.hasFocus():
            self.epochs.blockSignals(True)
            self.epochs.setValue(self.value("steps") * per_step / self._n_forget)
            self.epochs.blockSignals(False)
