<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16-Białowieża" styleCategories="AllStyleCategories" hasScaleBasedVisibilityFlag="0" minScale="1e+08" maxScale="0">
  <pipe>
    <provider>
      <resampling enabled="false" maxOversampling="2" zoomedInResamplingMethod="nearestNeighbour" zoomedOutResamplingMethod="nearestNeighbour"/>
    </provider>
    <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1" nodataColor="">
      <rasterTransparency/>
      <minMaxOrigin>
        <limits>None</limits>
        <extent>WholeRaster</extent>
        <statAccuracy>Estimated</statAccuracy>
        <cumulativeCutLower>0.02</cumulativeCutLower>
        <cumulativeCutUpper>0.98</cumulativeCutUpper>
        <stdDevFactor>2</stdDevFactor>
      </minMaxOrigin>
      <colorPalette>
        <paletteEntry value="0" color="#ffffff" alpha="0" label="0 no layover or shadow"/>
        <paletteEntry value="1" color="#d7191c" alpha="255" label="1 active layover"/>
        <paletteEntry value="2" color="#fdae61" alpha="255" label="2 passive layover"/>
        <paletteEntry value="4" color="#2c7bb6" alpha="255" label="4 active shadow"/>
        <paletteEntry value="8" color="#abd9e9" alpha="255" label="8 passive shadow"/>
        <paletteEntry value="5" color="#7b3294" alpha="255" label="5 active layover + active shadow"/>
        <paletteEntry value="6" color="#984ea3" alpha="255" label="6 passive layover + active shadow"/>
        <paletteEntry value="9" color="#c2a5cf" alpha="255" label="9 active layover + passive shadow"/>
        <paletteEntry value="10" color="#e7d4e8" alpha="255" label="10 passive layover + passive shadow"/>
      </colorPalette>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0" colorizeRed="255" colorizeGreen="128" colorizeBlue="128" colorizeStrength="100" invertColors="0"/>
    <rasterresampler maxOversampling="2"/>
    <resamplingStage>resamplingFilter</resamplingStage>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
