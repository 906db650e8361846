"""_config"""
