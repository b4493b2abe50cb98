"""Startup script for the real QGIS desktop (``qgis --code tests/gui_probe.py``), run by tests/test_gui.py.

Inside the running QGIS it waits for the GLaSAR provider, shows it in the Processing toolbox, opens
the glasar:maplakes dialog pre-filled with the Tsho Rolpa sample, takes screenshots, runs the algorithm
from the dialog (as a user pressing Run: background task, outputs loaded on completion, styles
applied by their post-processors) and writes what it found to GLASAR_GUI_OUT/gui_probe.json. Then
it leaves QGIS with os._exit (a project with new layers would otherwise ask to be saved).

Environment: GLASAR_GUI_OUT (output folder), GLASAR_GUI_SAMPLE (sample_data folder),
GLASAR_GUI_RUN_DIR (folder for the run's outputs), GLASAR_GUI_DEADLINE (seconds, default 90).
"""
import json
import os
import time
import traceback

from qgis.core import QgsApplication, QgsProject
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QApplication, QTextBrowser

OUT = os.environ["GLASAR_GUI_OUT"]
SAMPLE = os.environ["GLASAR_GUI_SAMPLE"]
RUN_DIR = os.environ["GLASAR_GUI_RUN_DIR"]
DEADLINE = time.monotonic() + float(os.environ.get("GLASAR_GUI_DEADLINE", "90"))
ALG = "glasar:maplakes"
INFO = {"steps": []}
_KEEP = {}  # Python references to the dialog and callbacks while Qt runs them


def finish(error=None):
    if error:
        INFO["error"] = error
    INFO["elapsed_s"] = round(time.monotonic() - (DEADLINE - float(os.environ.get("GLASAR_GUI_DEADLINE", "90"))), 1)
    tmp = os.path.join(OUT, "gui_probe.json.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(INFO, fh, indent=1, sort_keys=True)
    os.replace(tmp, os.path.join(OUT, "gui_probe.json"))
    QgsProject.instance().setDirty(False)
    os._exit(0 if not error else 3)


def pump(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def grab(widget, name):
    path = os.path.join(OUT, name)
    ok = widget.grab().save(path)
    INFO.setdefault("screenshots", {})[name] = {"saved": bool(ok), "width": widget.width(), "height": widget.height()}


def guarded(step):
    def run():
        try:
            INFO["steps"].append(step.__name__)
            step()
        except Exception:  # noqa: BLE001 - everything goes to the JSON for the test to show
            finish(traceback.format_exc())
    return run


def iface():
    from qgis.utils import iface as _iface

    return _iface


@guarded
def wait_for_provider():
    provider = QgsApplication.processingRegistry().providerById("glasar")
    if provider is None:
        if time.monotonic() > DEADLINE:
            finish("the GLaSAR provider never appeared in the processing registry")
        QTimer.singleShot(250, wait_for_provider)
        return
    INFO["provider"] = {"id": provider.id(), "name": provider.name(), "long_name": provider.longName(),
                        "icon_null": provider.icon().isNull(),
                        "algorithms": sorted(a.id() for a in provider.algorithms())}
    from qgis import utils

    INFO["plugin_loaded"] = "glasar" in utils.plugins
    QTimer.singleShot(0, toolbox)


@guarded
def toolbox():
    from qgis import utils

    box = utils.plugins["processing"].toolbox
    box.show()
    box.raise_()
    box.set_filter_string("GLaSAR")
    tree = box.algorithmTree
    tree.expandAll()
    pump(0.5)
    model = tree.model()
    found = []

    def walk(parent):
        for row in range(model.rowCount(parent)):
            idx = model.index(row, 0, parent)
            alg = tree.algorithmForIndex(idx)
            if alg is not None:
                found.append(alg.id())
            walk(idx)

    from qgis.PyQt.QtCore import QModelIndex

    walk(QModelIndex())
    INFO["toolbox_algorithms"] = sorted(set(found))
    iface().mainWindow().resize(1280, 1000)
    pump(0.5)
    grab(iface().mainWindow(), "gui_qgis_toolbox.png")
    QTimer.singleShot(0, open_dialog)


@guarded
def open_dialog():
    import processing
    from processing.core.ProcessingConfig import ProcessingConfig

    # a mismatching-CRS question box would be modal: the sample rasters are UTM 45N, the inventory WGS 84
    ProcessingConfig.setSettingValue(ProcessingConfig.WARN_UNMATCHING_CRS, False)
    params = {
        "ASCENDING": os.path.join(SAMPLE, "tsho_rolpa", "S1A_20220725T122232_ASC_RTC20_gamma0_VV_tshoRolpa.tif"),
        "DESCENDING": os.path.join(SAMPLE, "tsho_rolpa", "S1A_20220728T001131_DSC_RTC20_gamma0_VV_tshoRolpa.tif"),
        "INVENTORY": os.path.join(SAMPLE, "lakes", "HKHLAKEDB_2020_rolwaling_khumbu_wgs84.gpkg"),
        "LAKE_ID_FIELD": "GLIMS_ID",
        "OUTPUT": os.path.join(RUN_DIR, "mapped_lakes.gpkg"),
        "TABLE": os.path.join(RUN_DIR, "mapped_lakes.csv"),
    }
    alg = QgsApplication.processingRegistry().algorithmById(ALG)
    if alg.parameterDefinition("REPORT") is not None:
        params["REPORT"] = os.path.join(RUN_DIR, "report.html")
    dlg = processing.createAlgorithmDialog(ALG, params)
    _KEEP["dialog"] = dlg
    dlg.resize(1000, 760)
    dlg.show()
    dlg.raise_()
    pump(1.0)
    panel = dlg.mainWidget()
    help_box = dlg.findChild(QTextBrowser, "textShortHelp")
    INFO["dialog"] = {
        "class": type(dlg).__name__,
        "title": dlg.windowTitle(),
        "visible": dlg.isVisible(),
        "widgets": sorted(getattr(panel, "wrappers", {}).keys()),
        "help": help_box.toPlainText() if help_box is not None else None,
        "values": {k: str(v) for k, v in dlg.createProcessingParameters().items()},
    }
    INFO["algorithm"] = {
        "display_name": alg.displayName(),
        "group": alg.group(),
        "icon_null": alg.icon().isNull(),
        "parameters": [p.name() for p in alg.parameterDefinitions()],
        "visible_parameters": [p.name() for p in alg.parameterDefinitions()
                               if not p.flags() & p.FlagHidden],
        "parameters_without_help": [p.name() for p in alg.parameterDefinitions() if not p.help()],
        "outputs": {o.name(): o.type() for o in alg.outputDefinitions()},
    }
    grab(dlg, "gui_maplakes_dialog.png")
    grab(iface().mainWindow(), "gui_qgis_window.png")
    screen = QApplication.primaryScreen().grabWindow(0)
    INFO.setdefault("screenshots", {})["gui_screen.png"] = {"saved": bool(screen.save(os.path.join(OUT, "gui_screen.png")))}
    QTimer.singleShot(0, run_dialog)


@guarded
def run_dialog():
    dlg = _KEEP["dialog"]
    INFO["run"] = {"finished": False}

    def done(ok, results):
        INFO["run"].update(finished=True, ok=bool(ok), results={k: str(v) for k, v in results.items()})
        QTimer.singleShot(500, after_run)

    _KEEP["done"] = done
    dlg.algorithmFinished.connect(done)
    dlg.runAlgorithm()
    QTimer.singleShot(500, wait_for_run)


@guarded
def wait_for_run():
    if INFO["run"]["finished"]:
        return
    if time.monotonic() > DEADLINE:
        log = ""
        try:
            log = _KEEP["dialog"].findChild(QTextBrowser, "txtLog").toPlainText()[-3000:]
        except Exception:  # noqa: BLE001
            pass
        finish("the algorithm run from the dialog did not finish in time\n" + log)
    QTimer.singleShot(250, wait_for_run)


@guarded
def after_run():
    from processing.core.ProcessingResults import resultsList

    layers = []
    for layer in QgsProject.instance().mapLayers().values():
        renderer = layer.renderer() if hasattr(layer, "renderer") else None
        entry = {"name": layer.name(), "source": layer.source(), "renderer": type(renderer).__name__}
        if hasattr(layer, "featureCount"):
            entry["features"] = layer.featureCount()
        if renderer is not None and hasattr(renderer, "classAttribute"):
            entry["class_attribute"] = renderer.classAttribute()
            entry["legend"] = [item.label() for item in renderer.legendSymbolItems()]
        layers.append(entry)
    INFO["layers"] = layers
    INFO["results_viewer"] = [{"name": r.name, "file": r.filename} for r in resultsList.getResults()]
    canvas = iface().mapCanvas()
    vectors = [lyr for lyr in QgsProject.instance().mapLayers().values() if hasattr(lyr, "featureCount")]
    if vectors:
        from qgis.core import QgsRectangle

        extent = QgsRectangle()
        for lyr in vectors:
            lyr.selectByExpression('"iou" IS NOT NULL')
            box = lyr.boundingBoxOfSelected()
            lyr.removeSelection()
            if not box.isEmpty():
                extent.combineExtentWith(canvas.mapSettings().layerToMapCoordinates(lyr, box))
        if not extent.isEmpty():
            extent.scale(1.6)
            canvas.setExtent(extent)
        canvas.refreshAllLayers()
        end = time.monotonic() + 10
        pump(0.3)
        while canvas.isDrawing() and time.monotonic() < end:
            pump(0.1)
        pump(0.3)
    grab(iface().mainWindow(), "gui_map.png")
    finish()


def watchdog():
    finish("watchdog: the probe did not finish before its deadline")


QTimer.singleShot(int(max(1.0, DEADLINE - time.monotonic() + 10) * 1000), watchdog)
_KEEP["watchdog"] = watchdog
QTimer.singleShot(300, wait_for_provider)
