"""Writes ui/models/maplakeschain.model3, the shipped Modeler model (glasar:maplakeschain).

The model is the maplakes chain as separate Processing steps, so users can open it in the Graphical
Modeler and swap or inspect any step:

    native:dissolve (all inventory lakes -> one area)
    -> glasar:selectscenes (one ascending and one descending scene, cropped to the area's lake window)
    -> glasar:specklefilter -> glasar:slopecorrection -> glasar:layovershadow   (per pass)
    -> glasar:fuseascdesc (with both masks, 6 dB brightening tolerance, VV)
    -> glasar:extractlakes

Editing the model in the Modeler and saving over the file is fine too; this script is the
reproducible starting point. Run: .venv/bin/python scripts/make_model.py
"""
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET = REPO / "ui" / "models" / "maplakeschain.model3"


def _qgis():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(REPO / "build" / "pluginpath"))
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    return app


def build_model():
    from qgis.core import (
        QgsApplication,
        QgsProcessing,
        QgsProcessingModelAlgorithm,
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelChildParameterSource as Src,
        QgsProcessingModelOutput,
        QgsProcessingModelParameter,
        QgsProcessingParameterDateTime,
        QgsProcessingParameterEnum,
        QgsProcessingParameterFeatureSource,
        QgsProcessingParameterField,
        QgsProcessingParameterFile,
        QgsProcessingParameterRasterLayer,
    )
    from qgis.PyQt.QtCore import QPointF

    from glasar.algorithms import extraction, slope_correction
    from glasar.processing_provider.speckle_filter import FILTER_CHOICES

    model = QgsProcessingModelAlgorithm("Map glacial lakes step by step (model)", "Models", "models")
    help_content = {
        "ALG_DESC": (
            "The glasar:maplakes chain as a Graphical Modeler model, one Processing step per stage, to open in "
            "the Modeler, inspect and change: the inventory's lakes are dissolved into one area; "
            "glasar:selectscenes picks one ascending and one descending scene from the SCENES folder between "
            "START and END and crops them to the area's window (bounding box grown by 1200*log5(A+1)+100 m); "
            "each pass is speckle-filtered (glasar:specklefilter), slope-corrected with the DEM "
            "(glasar:slopecorrection) and gets its layover/shadow mask along range lines "
            "(glasar:layovershadow, exact method); glasar:fuseascdesc fuses the terrain-flattened VV bands "
            "(median offset, mean where both are clean, the other pass where one is distorted or more than "
            "6 dB brighter); glasar:extractlakes extracts and scores every inventory lake.\n\n"
            "Needs sigma0 scenes with an incidence-angle band (Earth Engine exports: bands VV, VH, angle) and a "
            "DEM; for ASF HyP3 RTC products (already terrain-corrected) use glasar:maplakes. It is meant for the "
            "lakes of a valley or a scene (all steps work on one window around them); for whole inventories "
            "glasar:maplakes reads per-lake windows in parallel. Unlike maplakes it does not drop a pass in "
            "which a lake is not dark, and the layover/shadow masks only see ridges inside the window.\n\n"
            "Outputs: mapped lakes and the per-lake table (as glasar:extractlakes), the fused VV backscatter "
            "(dB), the fusion source, both layover/shadow masks and the scene catalogue.\n\n"
            "Method after Wu et al. (2025), Int. J. Appl. Earth Obs. Geoinf. 136, 104329."
        ),
        "ALG_CREATOR": "GLaSAR",
        "ALG_HELP_CREATOR": "GLaSAR",
        "ALG_VERSION": "1",
        "SHORT_DESCRIPTION": "The maplakes chain as editable Modeler steps (scene selection to lake extraction).",
    }

    def add_parameter(param, help_text, x, y):
        param.setHelp(help_text)
        help_content[param.name()] = help_text
        component = QgsProcessingModelParameter(param.name())
        component.setPosition(QPointF(x, y))
        model.addModelParameter(param, component)

    def add_enum(name, description, options, default, help_text, x, y):
        param = QgsProcessingParameterEnum(name, description, options=list(options), defaultValue=default)
        param.setUsesStaticStrings(True)
        add_parameter(param, help_text, x, y)

    add_parameter(QgsProcessingParameterFile("SCENES", "Folder of Sentinel-1 scenes",
                                             behavior=QgsProcessingParameterFile.Folder),
                  "Folder searched recursively for Sentinel-1 sigma0 rasters (Earth Engine exports with bands VV, "
                  "VH, angle in dB, or GeoTIFFs tagged PASS, ACQUISITION_TIME, HEADING); other rasters in it are "
                  "listed in the catalogue and ignored.", 100, 60)
    add_parameter(QgsProcessingParameterFeatureSource("INVENTORY", "Glacial lake inventory",
                                                      [QgsProcessing.TypeVectorPolygon]),
                  "Polygon layer of lakes (any CRS). The scenes are cropped to the window around all its lakes; "
                  "every lake is extracted and scored against its polygon.", 330, 60)
    add_parameter(QgsProcessingParameterField("LAKE_ID_FIELD", "Lake id field", parentLayerParameterName="INVENTORY",
                                              optional=True),
                  "Field that identifies each lake in the output (e.g. GLIMS_ID); the feature id when empty.",
                  560, 60)
    add_parameter(QgsProcessingParameterRasterLayer("DEM", "DEM"),
                  "DEM covering the lakes (any GDAL raster, any CRS, geographic is fine): slope correction and "
                  "layover/shadow masks.", 790, 60)
    add_parameter(QgsProcessingParameterDateTime("START", "Start date", type=QgsProcessingParameterDateTime.Date),
                  "First acquisition date considered (inclusive).", 1020, 60)
    add_parameter(QgsProcessingParameterDateTime("END", "End date", type=QgsProcessingParameterDateTime.Date),
                  "Last acquisition date considered (inclusive); per pass the scene closest to the middle of "
                  "START..END is taken.", 1250, 60)
    add_enum("SPECKLE_FILTER", "Speckle filter", FILTER_CHOICES, "refined_lee",
             "Speckle filter of both passes in linear power (window 7, ENL 4.4), as SPECKLE_FILTER of "
             "glasar:maplakes.", 100, 130)
    add_enum("SLOPE_MODEL", "Slope correction model", slope_correction.MODELS, "volume",
             "volume or surface (Vollrath et al. 2020) or area (Small 2011), as SLOPE_MODEL of glasar:maplakes.",
             560, 130)
    add_enum("METHOD", "Water extraction method", extraction.METHODS, "otsu",
             "How water (the dark class) is separated from land in each lake window, as METHOD of "
             "glasar:maplakes.", 1020, 130)

    def add_child(child_id, alg_id, description, x, y, sources, outputs=()):
        child = QgsProcessingModelChildAlgorithm(alg_id)
        child.setChildId(child_id)
        child.setDescription(description)
        child.setPosition(QPointF(x, y))
        for key, source in sources.items():
            child.addParameterSources(key, [source])
        # Every other required input gets its default as a static value, as the Modeler does when a
        # step is added (QGIS's model validation asks for them).
        alg = QgsApplication.processingRegistry().algorithmById(alg_id)
        if alg is None:
            raise RuntimeError(f"{alg_id} is not registered")
        for definition in alg.parameterDefinitions():
            if (definition.isDestination() or definition.name() in sources
                    or definition.flags() & definition.FlagOptional or definition.defaultValue() is None):
                continue
            child.addParameterSources(definition.name(), [static(definition.defaultValue())])
        model_outputs = {}
        for i, (child_output, name, label) in enumerate(outputs):
            out = QgsProcessingModelOutput(name, label)
            if name != "LAKES":  # only the mapped lakes must be named on the command line
                out.setDefaultValue(QgsProcessing.TEMPORARY_OUTPUT)
            out.setChildId(child_id)
            out.setChildOutputName(child_output)
            out.setPosition(QPointF(x + 200, y + 40 + 30 * i))
            model_outputs[name] = out
        child.setModelOutputs(model_outputs)
        model.addChildAlgorithm(child)

    param, static, child_output = Src.fromModelParameter, Src.fromStaticValue, Src.fromChildOutput
    add_child("area", "native:dissolve", "All lakes as one area", 330, 220, {"INPUT": param("INVENTORY")})
    add_child("select", "glasar:selectscenes", "Select one scene per pass", 560, 300,
              {"INPUT": param("SCENES"), "AREA": child_output("area", "OUTPUT"), "START": param("START"),
               "END": param("END"), "WINDOW": static("lake")},
              [("CATALOG", "CATALOG", "Scene catalogue (CSV)")])
    for i, (key, label) in enumerate((("asc", "ASCENDING"), ("desc", "DESCENDING"))):
        x, name = 250 + 600 * i, label.lower()
        add_child(f"speckle_{key}", "glasar:specklefilter", f"Speckle filter ({name})", x, 400,
                  {"INPUT": child_output("select", label), "FILTER": param("SPECKLE_FILTER")})
        add_child(f"slope_{key}", "glasar:slopecorrection", f"Slope correction ({name})", x, 490,
                  {"INPUT": child_output(f"speckle_{key}", "OUTPUT"), "DEM": param("DEM"),
                   "MODEL": param("SLOPE_MODEL")})
        add_child(f"mask_{key}", "glasar:layovershadow", f"Layover and shadow ({name})", x, 580,
                  {"INPUT": child_output(f"slope_{key}", "OUTPUT"), "DEM": param("DEM"), "METHOD": static("exact")},
                  [("OUTPUT", f"MASK_{key.upper()}", f"Layover/shadow mask, {name} pass")])
    add_child("fuse", "glasar:fuseascdesc", "Fuse ascending and descending", 560, 680,
              {"ASCENDING": child_output("slope_asc", "OUTPUT"), "DESCENDING": child_output("slope_desc", "OUTPUT"),
               "ASC_MASK": child_output("mask_asc", "OUTPUT"), "DESC_MASK": child_output("mask_desc", "OUTPUT"),
               "BANDS": static("VV_gamma0_flatDB"), "NORMALIZATION": static("median_offset"),
               "COMBINE": static("mean"), "BRIGHTENING_TOLERANCE": static(6.0)},
              [("OUTPUT", "FUSED", "Fused VV backscatter (dB)"), ("SOURCE", "SOURCE", "Fusion source")])
    add_child("extract", "glasar:extractlakes", "Extract and score lakes", 560, 800,
              {"INPUT": child_output("fuse", "OUTPUT"), "INVENTORY": param("INVENTORY"),
               "LAKE_ID_FIELD": param("LAKE_ID_FIELD"), "METHOD": param("METHOD")},
              [("OUTPUT", "LAKES", "Mapped lakes"), ("TABLE", "TABLE", "Per-lake table (CSV)")])
    model.setHelpContent(help_content)
    return model


def main():
    app = _qgis()
    from glasar.plugin import GlasarPlugin

    from qgis.analysis import QgsNativeAlgorithms
    from qgis.core import QgsApplication

    QgsApplication.processingRegistry().addProvider(QgsNativeAlgorithms())  # native:dissolve
    plugin = GlasarPlugin(None)
    plugin.initProcessing()  # child parameter definitions come from the registered algorithms
    model = build_model()
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    if not model.toFile(str(TARGET)):
        raise SystemExit(f"could not write {TARGET}")
    print(f"wrote {TARGET}")
    plugin.unload()
    app.exitQgis()


if __name__ == "__main__":
    main()
