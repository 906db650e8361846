"""_executor"""
