"""Customer segmentation engine: schema, preprocessing, clustering, profiles, model store."""
